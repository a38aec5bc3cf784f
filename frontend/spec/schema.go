package spec

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

//go:generate go run ../../cmd/shabunble schema -o shabunble.schema.json

// SchemaID is the $id of the spec's JSON Schema.
const SchemaID = "https://github.com/shabunble/shabunble/frontend/spec/shabunble.schema.json"

// JSONSchema returns the JSON Schema of the spec file, derived from the
// json and jsonschema tags of Spec. Editors can use it for completion; Parse
// remains the authority, since some checks (paths, image references) are
// not expressible in the schema.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		ExpandedStruct:            true,
		DoNotReference:            true,
		AllowAdditionalProperties: false,
	}
	sc := r.Reflect(&Spec{})
	sc.ID = SchemaID
	sc.Title = "shabunble spec"
	sc.Description = "A shabunble.yaml file: the app, its entrypoint and the images it is built from and deployed on."
	dt, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(dt, &m); err != nil {
		return nil, err
	}
	patch(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// scalar is what Parse takes as a string: any YAML scalar, kept as written.
var scalar = []any{"string", "number", "boolean"}

// patch adds what the tags cannot say: YAML scalars that Parse reads as
// strings, and the patterns Parse checks.
func patch(m map[string]any) {
	props, _ := m["properties"].(map[string]any)
	set := func(name string, kv ...any) {
		p, ok := props[name].(map[string]any)
		if !ok {
			return
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1]
		}
	}
	set("entrypoint", "items", map[string]any{"type": scalar})
	// A kept program is a name, or a one-key mapping of its name to why.
	set("keep", "items", map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": map[string]any{"type": "string"}},
	}})
	set("env",
		"additionalProperties", map[string]any{"type": append(scalar, "null")},
		"propertyNames", map[string]any{"pattern": envNameRe.String()})
	set("user", "type", []any{"string", "integer"}, "pattern", userRe.String())
	set("workdir", "pattern", "^/.*[^/]")
	set("app", "not", map[string]any{"pattern": `^(/|\.\.(/|$))`})
}
