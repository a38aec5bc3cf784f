package spec_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shabunble/shabunble/frontend/spec"
)

func TestSchemaFileUpToDate(t *testing.T) {
	want, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("shabunble.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("shabunble.schema.json is stale: run `go generate ./frontend/spec/`")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dt, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(dt))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(spec.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(spec.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func yamlDoc(t *testing.T, src []byte) any {
	t.Helper()
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSchemaShape(t *testing.T) {
	dt, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Required             []string       `json:"required"`
		AdditionalProperties *bool          `json:"additionalProperties"`
		Properties           map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(dt, &m); err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Required, ",") != "language,entrypoint" {
		t.Errorf("required = %q", m.Required)
	}
	if m.AdditionalProperties == nil || *m.AdditionalProperties {
		t.Errorf("additionalProperties is not false")
	}
	for _, k := range []string{"language", "app", "requirements", "entrypoint", "deploy", "user", "env", "workdir", "base"} {
		if _, ok := m.Properties[k]; !ok {
			t.Errorf("no property %q", k)
		}
	}
	for _, k := range []string{"Filename", "Source", "filename", "source", "pos"} {
		if _, ok := m.Properties[k]; ok {
			t.Errorf("internal field %q in the schema", k)
		}
	}
}

func TestSchemaExamples(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("../../examples/*/shabunble.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlDoc(t, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Specs that Parse accepts are valid for the schema too, numbers included.
	for _, src := range []string{full, "language: python\nentrypoint: [a.py, 3]\nuser: 0\nenv: {PORT: 8080, DEBUG: true, E:}\n"} {
		if _, err := spec.Parse("s.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlDoc(t, []byte(src))); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	for name, src := range map[string]string{
		"unknown key":        "language: python\nentrypiont: [main.py]\n",
		"unknown base key":   "language: python\nentrypoint: [main.py]\nbase: {biuld: x}\n",
		"no entrypoint":      "language: python\n",
		"no language":        "entrypoint: [main.py]\n",
		"empty entrypoint":   "language: python\nentrypoint: []\n",
		"entrypoint string":  "language: python\nentrypoint: main.py\n",
		"entrypoint mapping": "language: python\nentrypoint: [{a: b}]\n",
		"language node":      "language: node\nentrypoint: [main.js]\n",
		"deploy unknown":     "language: python\nentrypoint: [main.py]\ndeploy: alpine\n",
		"env list":           "language: python\nentrypoint: [main.py]\nenv: [A]\n",
		"env bad name":       "language: python\nentrypoint: [main.py]\nenv: {1BAD: x}\n",
		"user bad":           "language: python\nentrypoint: [main.py]\nuser: Bad User\n",
		"workdir relative":   "language: python\nentrypoint: [main.py]\nworkdir: app\n",
		"workdir root":       "language: python\nentrypoint: [main.py]\nworkdir: /\n",
		"app parent":         "language: python\napp: ../x\nentrypoint: [main.py]\n",
		"app absolute":       "language: python\napp: /x\nentrypoint: [main.py]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := sch.Validate(yamlDoc(t, []byte(src))); err == nil {
				t.Errorf("schema accepts %q", src)
			}
			if _, err := spec.Parse("s.yaml", []byte(src)); err == nil {
				t.Errorf("Parse accepts %q", src)
			}
		})
	}
}
