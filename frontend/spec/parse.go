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
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		// A document that is only a %YAML or %TAG directive belongs to
		// the one after it; one with no body (a lone `---`) holds nothing.
		if _, ok := d.Body.(*ast.DirectiveNode); d != nil && d.Body != nil && !ok {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, &Error{Filename: filename, Position: Position{1, 1}, Msg: "the spec is empty",
			Fix: "write at least `language: python` and `entrypoint: [app.py]`"}
	}
	if len(docs) > 1 {
		pos := tokenPos(docs[1].Body.GetToken())
		if docs[1].Start != nil {
			pos = tokenPos(docs[1].Start)
		}
		return nil, &Error{Filename: filename, Position: pos, Msg: "the spec has more than one YAML document",
			Fix: "keep a single document: remove this `---` and what follows, or merge it into the first"}
	}
	if err := s.decodeMapping(docs[0].Body, "", reflect.ValueOf(s).Elem()); err != nil {
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
		if strings.Contains(ye.GetMessage(), "already defined") {
			e.Fix = "keep one of them"
		}
	}
	return e
}

func tokenPos(tk *token.Token) Position {
	if tk == nil || tk.Position == nil {
		return Position{1, 1}
	}
	return Position{Line: tk.Position.Line, Column: tk.Position.Column}
}

// atValue is at for the value written at path: a missing (null) value has
// no place of its own, so the error points at its key.
func (s *Spec) atValue(n ast.Node, path, msg, fix string) *Error {
	if p, ok := s.pos[path]; ok && isNull(n) {
		return &Error{Filename: s.Filename, Position: p, Msg: msg, Fix: fix}
	}
	return s.at(n, msg, fix)
}

func (s *Spec) at(n ast.Node, msg, fix string) *Error {
	var tk *token.Token
	if n != nil {
		tk = n.GetToken()
	}
	return &Error{Filename: s.Filename, Position: tokenPos(tk), Msg: msg, Fix: fix}
}

// unwrap strips tags and anchors off n. Aliases are refused: a spec is short
// enough to write each value out, and an alias would hide where it stands.
func (s *Spec) unwrap(n ast.Node) (ast.Node, error) {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.MappingKeyNode:
			n = v.Value
		case *ast.AliasNode:
			return nil, s.at(v, "YAML aliases (*name) are not supported in a spec", "write the value out in full")
		default:
			return n, nil
		}
	}
}

// scalar returns the text of a scalar value as the user wrote it: quoted
// and block strings unescaped, numbers and booleans verbatim (so that
// `0.10` stays "0.10" and `0x10` stays "0x10"). ok is false for nulls,
// lists and mappings.
func (s *Spec) scalar(n ast.Node) (string, bool, error) {
	n, err := s.unwrap(n)
	if err != nil {
		return "", false, err
	}
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "", false, nil
	case *ast.StringNode:
		return v.Value, true, nil
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true, nil
		}
		return v.Value.Value, true, nil
	case ast.ScalarNode:
		if tk := v.GetToken(); tk != nil {
			return tk.Value, true, nil
		}
		return fmt.Sprint(v.GetValue()), true, nil
	}
	return "", false, nil
}

// key returns the name of a mapping key, which must be a string.
func (s *Spec) key(k ast.Node) (string, error) {
	name, ok, err := s.scalar(k)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", s.at(k, "a key must be a plain name", "write `name: value`")
	}
	return name, nil
}

// decodeMapping decodes a YAML mapping into the struct v, key by key, so that
// each unknown key and each badly typed value is reported where it stands.
func (s *Spec) decodeMapping(n ast.Node, prefix string, v reflect.Value) error {
	n, err := s.unwrap(n)
	if err != nil {
		return err
	}
	m, ok := mappingOf(n)
	if !ok {
		what := "the spec"
		if prefix != "" {
			what = "`" + strings.TrimSuffix(prefix, ".") + "`"
		}
		return s.atValue(n, strings.TrimSuffix(prefix, "."), what+" must be a mapping of keys to values", "write `key: value` lines")
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for _, kv := range m {
		key, err := s.key(kv.Key)
		if err != nil {
			return err
		}
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

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
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
		v, ok, err := s.scalar(n)
		if err != nil {
			return err
		}
		if !ok {
			return s.atValue(n, path, fmt.Sprintf("%q must be a string", path), fmt.Sprintf("write `%s: value`", path))
		}
		f.SetString(v)
	case reflect.Bool:
		v, ok, err := s.scalar(n)
		if err != nil {
			return err
		}
		b, isBool := map[string]bool{"true": true, "false": false}[v]
		if !ok || !isBool {
			return s.atValue(n, path, fmt.Sprintf("%q must be true or false", path), fmt.Sprintf("write `%s: true`", path))
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type() == reflect.TypeFor[[]Keep]() {
			return s.decodeKeep(n, path, f)
		}
		n, err := s.unwrap(n)
		if err != nil {
			return err
		}
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			return s.atValue(n, path, fmt.Sprintf("%q must be a list of strings", path), fmt.Sprintf("write `%s: [a, b]`", path))
		}
		// An empty list is still a list: keep it non-nil, so that it
		// reads back as given.
		f.Set(reflect.MakeSlice(f.Type(), 0, len(seq.Values)))
		for i, item := range seq.Values {
			v, ok, err := s.scalar(item)
			if err != nil {
				return err
			}
			if !ok {
				return s.at(item, fmt.Sprintf("%s[%d] must be a string", path, i), "quote it")
			}
			s.pos[fmt.Sprintf("%s[%d]", path, i)] = tokenPos(item.GetToken())
			f.Set(reflect.Append(f, reflect.ValueOf(v)))
		}
	case reflect.Map:
		return s.decodeStringMap(n, path, f)
	}
	return nil
}

func (s *Spec) decodeStringMap(n ast.Node, path string, f reflect.Value) error {
	n, err := s.unwrap(n)
	if err != nil {
		return err
	}
	m, ok := mappingOf(n)
	if !ok {
		return s.atValue(n, path, fmt.Sprintf("%q must be a mapping of names to values", path), fmt.Sprintf("write `%s: {NAME: value}`", path))
	}
	f.Set(reflect.MakeMap(f.Type()))
	for _, kv := range m {
		key, err := s.key(kv.Key)
		if err != nil {
			return err
		}
		val, ok, err := s.scalar(kv.Value)
		if err != nil {
			return err
		}
		if !ok && !isNull(kv.Value) {
			return s.at(kv.Value, fmt.Sprintf("%s.%s must be a string", path, key), "quote it")
		}
		s.pos[path+"."+key] = tokenPos(kv.Key.GetToken())
		f.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(val))
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

// decodeKeep decodes a list whose items are a name, or a one-key mapping
// of a name to the reason it is kept.
func (s *Spec) decodeKeep(n ast.Node, path string, f reflect.Value) error {
	n, err := s.unwrap(n)
	if err != nil {
		return err
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return s.atValue(n, path, fmt.Sprintf("%q must be a list of programs", path), "write `keep: [sh, curl]`")
	}
	var out []Keep
	for i, item := range seq.Values {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		s.pos[ipath] = tokenPos(item.GetToken())
		if v, ok, err := s.scalar(item); err != nil {
			return err
		} else if ok {
			out = append(out, Keep{Name: v})
			continue
		}
		m, ok := mappingOf(item)
		if !ok || len(m) != 1 {
			return s.at(item, ipath+" must be a program name, or `name: why`", "write `- curl: health check`")
		}
		name, err := s.key(m[0].Key)
		if err != nil {
			return err
		}
		s.pos[ipath] = tokenPos(m[0].Key.GetToken())
		why, ok, err := s.scalar(m[0].Value)
		if err != nil {
			return err
		}
		if !ok {
			return s.at(item, ipath+": the reason must be a string", "write `- curl: health check`")
		}
		out = append(out, Keep{Name: name, Why: why})
	}
	f.Set(reflect.ValueOf(out))
	return nil
}
