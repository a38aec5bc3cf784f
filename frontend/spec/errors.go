package spec

import (
	"fmt"
)

// Error is a problem in a spec file, at a position, with a fix.
type Error struct {
	Filename string
	Position
	// Msg says what is wrong.
	Msg string
	// Fix says how to put it right.
	Fix string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s:%d:%d: %s", e.Filename, e.Line, e.Column, e.Msg)
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Errorf returns an Error at the value written at path.
func (s *Spec) Errorf(path, fix, format string, args ...any) *Error {
	return &Error{Filename: s.Filename, Position: s.Pos(path), Msg: fmt.Sprintf(format, args...), Fix: fix}
}
