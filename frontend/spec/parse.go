package spec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Parse reads a spec file, fills in the defaults and validates what can be
// checked without the build context. filename is used in errors only.
func Parse(filename string, data []byte) (*Spec, error) {
	s := &Spec{Filename: filename, Source: data, pos: map[string]Position{}}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, s.syntaxError(err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &Error{Filename: filename, Position: Position{1, 1}, Msg: "the spec is empty",
			Fix: "write at least `language: python` and `entrypoint: [app.py]`"}
	}
	if err := s.decodeMapping(f.Docs[0].Body, "", reflect.ValueOf(s).Elem()); err != nil {
		return nil, err
	}
	s.setDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spec) syntaxError(err error) error {
	e := &Error{Filename: s.Filename, Position: Position{1, 1}, Msg: "invalid YAML: " + err.Error(),
		Fix: "fix the YAML syntax"}
	if ye, ok := err.(yaml.Error); ok {
		e.Msg = "invalid YAML: " + ye.GetMessage()
		e.Position = tokenPos(ye.GetToken())
	}
	return e
}

func tokenPos(tk *token.Token) Position {
	if tk == nil || tk.Position == nil {
		return Position{1, 1}
	}
	return Position{Line: tk.Position.Line, Column: tk.Position.Column}
}

func (s *Spec) at(n ast.Node, msg, fix string) *Error {
	return &Error{Filename: s.Filename, Position: tokenPos(n.GetToken()), Msg: msg, Fix: fix}
}

// decodeMapping decodes a YAML mapping into the struct v, key by key, so that
// each unknown key and each badly typed value is reported where it stands.
func (s *Spec) decodeMapping(n ast.Node, prefix string, v reflect.Value) error {
	m, ok := mappingOf(n)
	if !ok {
		what := "the spec"
		if prefix != "" {
			what = "`" + strings.TrimSuffix(prefix, ".") + "`"
		}
		return s.at(n, what+" must be a mapping of keys to values", "write `key: value` lines")
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for _, kv := range m {
		key := kv.Key.String()
		path := prefix + key
		idx, ok := fields[key]
		if !ok {
			return s.at(kv.Key, fmt.Sprintf("unknown key %q", path), suggest(key, fields))
		}
		if seen[key] {
			return s.at(kv.Key, fmt.Sprintf("key %q is given twice", path), "keep one of them")
		}
		seen[key] = true
		s.pos[path] = tokenPos(kv.Key.GetToken())
		if err := s.decodeValue(kv.Value, path, v.Field(idx)); err != nil {
			return err
		}
	}
	return nil
}

func mappingOf(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func (s *Spec) decodeValue(n ast.Node, path string, f reflect.Value) error {
	switch f.Kind() {
	case reflect.Struct:
		return s.decodeMapping(n, path+".", f)
	case reflect.String:
		sc, ok := n.(ast.ScalarNode)
		if !ok || n.Type() == ast.NullType {
			return s.at(n, fmt.Sprintf("%q must be a string", path), fmt.Sprintf("write `%s: value`", path))
		}
		f.SetString(fmt.Sprint(sc.GetValue()))
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			return s.at(n, fmt.Sprintf("%q must be a list of strings", path), fmt.Sprintf("write `%s: [a, b]`", path))
		}
		for i, item := range seq.Values {
			sc, ok := item.(ast.ScalarNode)
			if !ok || item.Type() == ast.NullType {
				return s.at(item, fmt.Sprintf("%s[%d] must be a string", path, i), "quote it")
			}
			s.pos[fmt.Sprintf("%s[%d]", path, i)] = tokenPos(item.GetToken())
			f.Set(reflect.Append(f, reflect.ValueOf(fmt.Sprint(sc.GetValue()))))
		}
	case reflect.Map:
		return s.decodeStringMap(n, path, f)
	}
	return nil
}

func (s *Spec) decodeStringMap(n ast.Node, path string, f reflect.Value) error {
	m, ok := mappingOf(n)
	if !ok {
		return s.at(n, fmt.Sprintf("%q must be a mapping of names to values", path), fmt.Sprintf("write `%s: {NAME: value}`", path))
	}
	f.Set(reflect.MakeMap(f.Type()))
	for _, kv := range m {
		sc, ok := kv.Value.(ast.ScalarNode)
		if !ok {
			return s.at(kv.Value, fmt.Sprintf("%s.%s must be a string", path, kv.Key.String()), "quote it")
		}
		val := ""
		if kv.Value.Type() != ast.NullType {
			val = fmt.Sprint(sc.GetValue())
		}
		s.pos[path+"."+kv.Key.String()] = tokenPos(kv.Key.GetToken())
		f.SetMapIndex(reflect.ValueOf(kv.Key.String()), reflect.ValueOf(val))
	}
	return nil
}

// yamlFields maps each YAML key of struct type t to its field index.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

func suggest(key string, fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if levenshtein.Distance(key, n, nil) <= 2 {
			return fmt.Sprintf("did you mean %q?", n)
		}
	}
	return "the known keys are " + strings.Join(names, ", ")
}
