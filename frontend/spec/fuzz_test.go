package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shabunble/shabunble/frontend/spec"
)

// FuzzParse checks that no input makes Parse panic, and that every error
// is a positioned *spec.Error, never a bare library error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("language: python\nentrypoint: [a.py]\n"))
	f.Add([]byte("language: python\nentrypoint: [a.py]\nenv: {A: *b}\n---\n"))
	f.Add([]byte("%YAML 1.2\n---\n? [x]\n: &a !!str y\nbase: {build: |\n  x\n}\n"))
	f.Add([]byte(""))
	if files, _ := filepath.Glob("../../examples/*/shabunble.yaml"); len(files) > 0 {
		for _, p := range files {
			if dt, err := os.ReadFile(p); err == nil {
				f.Add(dt)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.Parse("shabunble.yaml", data)
		if err == nil {
			if s == nil || s.Language != spec.Python || len(s.Entrypoint) == 0 || s.User == "" || s.Workdir == "" {
				t.Fatalf("Parse accepted an invalid spec: %+v", s)
			}
			return
		}
		var se *spec.Error
		if !errors.As(err, &se) {
			t.Fatalf("error %T is not a *spec.Error: %v", err, err)
		}
		if se.Line < 1 || se.Column < 1 {
			t.Fatalf("error at %d:%d: %v", se.Line, se.Column, err)
		}
		if se.Msg == "" || se.Fix == "" {
			t.Fatalf("error without a message or a fix: %#v", se)
		}
	})
}
