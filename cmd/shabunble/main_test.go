package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/frontend/spec"
)

const example = "../../examples/python-basic/shabunble.yaml"

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateExample(t *testing.T) {
	code, out, errs := runCmd(t, "validate", "-f", example)
	if code != 0 || out != example+": ok\n" || errs != "" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestValidateDefaultFile(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shabunble.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if code, out, errs := runCmd(t, "validate"); code != 0 || out != "shabunble.yaml: ok\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestValidateBad(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("language: python\nentrypiont: [main.py]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, "validate", "--file", bad)
	want := bad + `:2:1: unknown key "entrypiont"; did you mean "entrypoint"?` + "\n"
	if code != 1 || out != "" || errs != want {
		t.Errorf("code %d, stdout %q, stderr %q, want %q", code, out, errs, want)
	}
}

func TestValidateMissingFile(t *testing.T) {
	code, out, errs := runCmd(t, "validate", "-f", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != 1 || out != "" || !strings.HasPrefix(errs, "shabunble: open ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"validate", "extra"}, {"validate", "--nope"}, {"version", "x"}} {
		code, _, errs := runCmd(t, args...)
		if code != 1 || !strings.HasPrefix(errs, "shabunble: ") || strings.Contains(errs, "goroutine") {
			t.Errorf("%q: code %d, stderr %q", args, code, errs)
		}
	}
}

func TestSchemaStdout(t *testing.T) {
	code, out, errs := runCmd(t, "schema")
	want, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != string(want) || errs != "" {
		t.Errorf("code %d, stderr %q, schema printed %v", code, errs, out == string(want))
	}
	if !json.Valid([]byte(out)) {
		t.Errorf("not JSON")
	}
}

func TestSchemaFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "s.json")
	if code, out, errs := runCmd(t, "schema", "-o", f); code != 0 || out != "" || errs != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errs)
	}
	got, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../frontend/spec/shabunble.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Errorf("schema -o differs from the committed frontend/spec/shabunble.schema.json")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "shabunble ") || !strings.HasSuffix(out, "\n") {
		t.Errorf("code %d, stdout %q", code, out)
	}
	version = "v9.9.9"
	defer func() { version = "" }()
	if _, out, _ := runCmd(t, "version"); !strings.HasPrefix(out, "shabunble v9.9.9 ") {
		t.Errorf("stdout %q", out)
	}
}
