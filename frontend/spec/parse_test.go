package spec_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/frontend/spec"
)

const full = `# syntax=ghcr.io/shabunble/shabunble:1
language: python
app: app
requirements: requirements.txt
entrypoint: [boom.py, --loops, "3"]
deploy: distroless
user: "1000:1000"
env:
  PORT: 8080
  GREETING: hello
  DELAY: 0.10
workdir: /srv/app/
base:
  build: docker.io/library/python:3.12-slim
  deploy: gcr.io/distroless/python3-debian12
`

func mustParse(t testing.TB, src string) *spec.Spec {
	t.Helper()
	s, err := spec.Parse("shabunble.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestParseFull(t *testing.T) {
	s := mustParse(t, full)
	want := spec.Spec{
		Language:     "python",
		App:          "app",
		Requirements: "requirements.txt",
		Entrypoint:   []string{"boom.py", "--loops", "3"},
		Deploy:       "distroless",
		User:         "1000:1000",
		Env:          map[string]string{"PORT": "8080", "GREETING": "hello", "DELAY": "0.10"},
		Workdir:      "/srv/app",
		Base:         spec.Base{Build: "docker.io/library/python:3.12-slim", Deploy: "gcr.io/distroless/python3-debian12"},
	}
	got := spec.Spec{Language: s.Language, App: s.App, Requirements: s.Requirements, Entrypoint: s.Entrypoint,
		Deploy: s.Deploy, User: s.User, Env: s.Env, Workdir: s.Workdir, Base: s.Base}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if s.Filename != "shabunble.yaml" || string(s.Source) != full {
		t.Errorf("Filename %q / Source not kept", s.Filename)
	}
}

func TestParseDefaults(t *testing.T) {
	s := mustParse(t, "language: python\nentrypoint: [main.py]\n")
	for name, c := range map[string][2]string{
		"app":         {s.App, "."},
		"deploy":      {s.Deploy, spec.Distroless},
		"user":        {s.User, "65532:65532"},
		"workdir":     {s.Workdir, "/app"},
		"base.build":  {s.Base.Build, spec.DefaultPythonBuild},
		"base.deploy": {s.Base.Deploy, spec.DefaultPythonDeploy},
		// The default requirements file is looked for in the build
		// context by the frontend, not filled in here.
		"requirements": {s.Requirements, ""},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if s.Has("app") || !s.Has("entrypoint") || !s.Has("language") {
		t.Errorf("Has reports defaults as written")
	}
}

func TestParseExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*/shabunble.yaml")
	if len(files) == 0 {
		t.Skip("no examples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Parse(f, data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Scalars are kept as written: YAML numbers and booleans are not
// normalised on the way to a string.
func TestParseScalarsVerbatim(t *testing.T) {
	s := mustParse(t, `language: python
entrypoint: [a.py, 3, 0.10, 0x10, 010, 1_000, .inf, true, yes, ~x, !!str 7]
env:
  PORT: 8080
  RATIO: 1.50
  HEX: 0x1F
  ON: true
  EMPTY:
  QUOTED: "a\tb"
  'SINGLE': 'it''s'
  BLOCK: |
    line1
    line2
  FOLDED: >-
    a
    b
`)
	wantEP := []string{"a.py", "3", "0.10", "0x10", "010", "1_000", ".inf", "true", "yes", "~x", "7"}
	if !reflect.DeepEqual(s.Entrypoint, wantEP) {
		t.Errorf("entrypoint = %q, want %q", s.Entrypoint, wantEP)
	}
	wantEnv := map[string]string{"PORT": "8080", "RATIO": "1.50", "HEX": "0x1F", "ON": "true", "EMPTY": "",
		"QUOTED": "a\tb", "SINGLE": "it's", "BLOCK": "line1\nline2\n", "FOLDED": "a b"}
	if !reflect.DeepEqual(s.Env, wantEnv) {
		t.Errorf("env = %q, want %q", s.Env, wantEnv)
	}
}

func TestParseAccepts(t *testing.T) {
	for name, src := range map[string]string{
		"user root":       "language: python\nentrypoint: [a.py]\nuser: root\n",
		"user 0":          "language: python\nentrypoint: [a.py]\nuser: 0\n",
		"user names":      "language: python\nentrypoint: [a.py]\nuser: app:app\n",
		"flow root":       "{language: python, entrypoint: [a.py]}\n",
		"quoted keys":     "\"language\": python\n'entrypoint': [a.py]\n",
		"explicit key":    "? language\n: python\nentrypoint: [a.py]\n",
		"comments":        "# c\nlanguage: python # t\n# c2\nentrypoint: [a.py] # t\nenv: # c\n  # c\n  A: x # c\n",
		"yaml directive":  "%YAML 1.2\n---\nlanguage: python\nentrypoint: [a.py]\n",
		"document end":    "language: python\nentrypoint: [a.py]\n...\n",
		"doc header":      "---\nlanguage: python\nentrypoint: [a.py]\n",
		"nested app":      "language: python\napp: src/app/\nentrypoint: [./pkg/../main.py]\n",
		"empty base":      "language: python\nentrypoint: [a.py]\nbase: {}\n",
		"anchor, no use":  "language: &l python\nentrypoint: [a.py]\n",
		"crlf":            "language: python\r\nentrypoint: [a.py]\r\n",
		"image by digest": "language: python\nentrypoint: [a.py]\nbase:\n  deploy: gcr.io/distroless/python3@sha256:" + strings.Repeat("a", 64) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := mustParse(t, src)
			if s.Language != "python" || len(s.Entrypoint) == 0 {
				t.Errorf("got %+v", s)
			}
		})
	}
	if s := mustParse(t, "language: python\napp: src/app/\nentrypoint: [./pkg/../main.py]\n"); s.App != "src/app" || s.Entrypoint[0] != "main.py" {
		t.Errorf("paths not cleaned: app %q entrypoint %q", s.App, s.Entrypoint[0])
	}
}

func TestParseDeployModes(t *testing.T) {
	const head = "language: python\nentrypoint: [a.py]\n"
	s, err := spec.Parse("shabunble.yaml", []byte(head+"deploy: scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Base.Deploy != "" || s.Base.Build != spec.DefaultPythonBuild {
		t.Errorf("scratch bases = %+v", s.Base)
	}
	s, err = spec.Parse("shabunble.yaml", []byte(head+"deploy: shell\nkeep:\n  - sh\n  - curl: health check\n  - /usr/bin/mkdir\nwritable: [/app/data]\npython: {bytecode: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Base.Deploy != spec.DefaultShellDeploy {
		t.Errorf("shell deploy base = %q", s.Base.Deploy)
	}
	want := []spec.Keep{{Name: "sh"}, {Name: "curl", Why: "health check"}, {Name: "/usr/bin/mkdir"}}
	if !reflect.DeepEqual(s.Keep, want) {
		t.Errorf("keep = %+v, want %+v", s.Keep, want)
	}
	if !s.Python.Bytecode || !reflect.DeepEqual(s.Writable, []string{"/app/data"}) {
		t.Errorf("python = %+v, writable = %v", s.Python, s.Writable)
	}
	if p := s.Pos("keep[1]"); p.Line != 6 || p.Column != 5 {
		t.Errorf("keep[1] at %+v", p)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "language: python\nentrypoint: [a.py]\n"
	for _, c := range []struct {
		name      string
		src       string
		line, col int
		msg, fix  string // substrings
	}{
		{"unknown key", "language: python\nentrypiont: [a.py]\n", 2, 1, `unknown key "entrypiont"`, `did you mean "entrypoint"?`},
		{"unknown key far", head + "colour: red\n", 3, 1, `unknown key "colour"`, "the known keys are app, base, deploy, entrypoint, env"},
		{"unknown nested key", head + "base:\n  biuld: x\n", 4, 3, `unknown key "base.biuld"`, `did you mean "build"?`},
		{"entrypoint string", "language: python\nentrypoint: a.py\n", 2, 13, `"entrypoint" must be a list of strings`, "entrypoint: [a, b]"},
		{"entrypoint null", "language: python\nentrypoint:\n", 2, 1, `"entrypoint" must be a list of strings`, "entrypoint: [a, b]"},
		{"entrypoint item mapping", "language: python\nentrypoint:\n  - a.py\n  - {x: y}\n", 4, 5, "entrypoint[1] must be a string", "quote it"},
		{"entrypoint item list", "language: python\nentrypoint: [[a.py]]\n", 2, 14, "entrypoint[0] must be a string", "quote it"},
		{"entrypoint item null", "language: python\nentrypoint: [a.py, ~]\n", 2, 20, "entrypoint[1] must be a string", "quote it"},
		{"env list", head + "env: [A, B]\n", 3, 6, `"env" must be a mapping of names to values`, "env: {NAME: value}"},
		{"env value list", head + "env: {A: [x]}\n", 3, 10, "env.A must be a string", "quote it"},
		{"env null key", head + "env:\n  ~: y\n", 4, 3, "a key must be a plain name", "name: value"},
		{"app list", "language: python\napp: [a]\nentrypoint: [a.py]\n", 2, 6, `"app" must be a string`, "app: value"},
		{"language null", "language:\nentrypoint: [a.py]\n", 1, 1, `"language" must be a string`, "language: value"},
		{"base null", head + "base: ~\n", 3, 1, "`base` must be a mapping", "key: value"},
		{"base.build null", head + "base:\n  build: ~\n", 4, 3, `"base.build" must be a string`, "base.build: value"},
		{"env null", head + "env:\n", 3, 1, `"env" must be a mapping`, "env: {NAME: value}"},
		{"base string", head + "base: x\n", 3, 7, "`base` must be a mapping", "key: value"},
		{"root list", "- a\n- b\n", 1, 1, "the spec must be a mapping", "key: value"},
		{"root scalar", "language\n", 1, 1, "the spec must be a mapping", "key: value"},
		{"missing entrypoint", "language: python\n", 1, 1, "the spec has no `entrypoint`", "entrypoint: [main.py"},
		{"missing entrypoint after", "# c\n\nlanguage: python\napp: x\n", 3, 1, "the spec has no `entrypoint`", "entrypoint: [main.py"},
		{"empty entrypoint", "language: python\nentrypoint: []\n", 2, 1, "entrypoint is empty", "entrypoint: [main.py]"},
		{"missing language", "app: x\nentrypoint: [a.py]\n", 1, 1, "the spec has no `language`", "language: python"},
		{"language node", "app: x\nlanguage: node\nentrypoint: [a.js]\n", 2, 1, `language "node" is not yet supported`, "language: python"},
		{"language unknown", "language: cobol\nentrypoint: [a]\n", 1, 1, `unknown language "cobol"`, "language: python"},
		{"scratch with a base", head + "deploy: scratch\nbase: {deploy: x}\n", 4, 8, "deploy: scratch takes no base image", "remove base.deploy"},
		{"keep without shell", head + "keep: [sh]\n", 3, 1, "keep only applies to deploy: shell", "deploy: shell"},
		{"keep a pattern", head + "deploy: shell\nkeep: [sh, 'c*']\n", 4, 12, `keep "c*" is not a program name`, "absolute path"},
		{"keep relative path", head + "deploy: shell\nkeep: [bin/sh]\n", 4, 8, `keep "bin/sh" is not a program name`, "absolute path"},
		{"keep a list", head + "deploy: shell\nkeep: [[sh]]\n", 4, 8, "keep[0] must be a program name", "health check"},
		{"keep a string", head + "deploy: shell\nkeep: sh\n", 4, 7, `"keep" must be a list of programs`, "keep: [sh, curl]"},
		{"writable relative", head + "writable: [data]\n", 3, 12, `writable "data" must be an absolute folder`, "/app/data"},
		{"bytecode not bool", head + "python: {bytecode: yes please}\n", 3, 20, `"python.bytecode" must be true or false`, "python.bytecode: true"},
		{"unknown python key", head + "python: {stdlib: minimal}\n", 3, 10, `unknown key "python.stdlib"`, "bytecode"},
		{"deploy unknown", head + "deploy: alpine\n", 3, 1, `unknown deploy mode "alpine"`, "distroless, scratch or shell"},
		{"app parent", "language: python\napp: ../x\nentrypoint: [a.py]\n", 2, 1, `app "../x" is outside the build context`, "relative to the build context"},
		{"app sneaky parent", "language: python\napp: a/../../x\nentrypoint: [a.py]\n", 2, 1, "outside the build context", "relative to the build context"},
		{"app absolute", "language: python\napp: /abs\nentrypoint: [a.py]\n", 2, 1, `app "/abs" is outside the build context`, "relative to the build context"},
		{"entrypoint parent", "language: python\napp: app\nentrypoint: [../boom.py]\n", 3, 14, `entrypoint "../boom.py" is not a file inside app "app"`, "relative to app"},
		{"entrypoint absolute", "language: python\nentrypoint:\n  - /usr/bin/python3\n", 3, 5, "is not a file inside app", "relative to app"},
		{"entrypoint dot", "language: python\nentrypoint: [.]\n", 2, 14, "is not a file inside app", "relative to app"},
		{"entrypoint empty string", "language: python\nentrypoint: [\"\"]\n", 2, 14, "is not a file inside app", "relative to app"},
		{"requirements parent", head + "requirements: ../r.txt\n", 3, 1, `requirements "../r.txt" is not a file inside app`, "relative to app"},
		{"requirements absolute", head + "requirements: /r.txt\n", 3, 1, "is not a file inside app", "relative to app"},
		{"requirements dot", head + "requirements: .\n", 3, 1, "is not a file inside app", "relative to app"},
		{"requirements empty", head + "requirements: \"\"\n", 3, 1, "is not a file inside app", "relative to app"},
		{"user without group", head + "user: \"65532\"\n", 3, 1, `user "65532" has no group`, `write "65532:65532"`},
		{"user int without group", head + "user: 65532\n", 3, 1, `user "65532" has no group`, `write "65532:65532"`},
		{"user bad", head + "user: \"Bad User\"\n", 3, 1, `user "Bad User" is not uid:gid`, `"65532:65532"`},
		{"user empty group", head + "user: \"1:\"\n", 3, 1, "is not uid:gid", `"65532:65532"`},
		{"workdir relative", head + "workdir: app\n", 3, 1, `workdir "app" must be an absolute path`, "/app"},
		{"workdir root", head + "workdir: /\n", 3, 1, `workdir "/" must be an absolute path other than /`, "/app"},
		{"env bad name", head + "env:\n  OK: 1\n  1BAD: x\n", 5, 3, `env name "1BAD" is not valid`, "letters, digits and _"},
		{"env name with space", head + "env:\n  \"A B\": y\n", 4, 3, `env name "A B" is not valid`, "letters, digits and _"},
		{"base.build invalid", head + "base:\n  build: \"UPPER:::x\"\n", 4, 3, `base.build "UPPER:::x" is not a valid image reference`, "docker.io/library/python"},
		{"base.deploy invalid", head + "base:\n  deploy: a b\n", 4, 3, `base.deploy "a b" is not a valid image reference`, "image reference"},
		{"base both invalid: build first", head + "base:\n  deploy: a b\n  build: c d\n", 5, 3, "base.build", "image reference"},
		{"duplicate key", head + "language: python\n", 3, 1, `mapping key "language" already defined at [1:1]`, "keep one of them"},
		{"duplicate env key", head + "env:\n  A: x\n  A: y\n", 5, 3, `mapping key "A" already defined`, "keep one of them"},
		{"syntax error", "language: python\nentrypoint: [a.py\n", 2, 13, "invalid YAML: sequence end token ']' not found", "fix the YAML syntax"},
		{"syntax error indent", "language: python\n  entrypoint: [a.py]\n", 1, 11, "invalid YAML", "fix the YAML syntax"},
		{"tab", "\tlanguage: python\n", 1, 9, "invalid YAML", "fix the YAML syntax"},
		{"empty file", "", 1, 1, "the spec is empty", "language: python"},
		{"only comments", "# nothing\n# here\n", 1, 1, "the spec is empty", "language: python"},
		{"only header", "---\n", 1, 1, "the spec is empty", "language: python"},
		{"two documents", head + "---\nlanguage: python\n", 3, 1, "more than one YAML document", "single document"},
		{"alias", "language: &l python\nentrypoint: [*l]\n", 2, 14, "aliases", "write the value out"},
		{"alias mapping", "language: python\nentrypoint: [a.py]\nenv: *e\n", 3, 6, "aliases", "write the value out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := spec.Parse("shabunble.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if s != nil {
				t.Errorf("a spec is returned with the error")
			}
			var se *spec.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a *spec.Error", err, err)
			}
			if se.Line != c.line || se.Column != c.col {
				t.Errorf("at %d:%d, want %d:%d (%v)", se.Line, se.Column, c.line, c.col, err)
			}
			if !strings.Contains(se.Msg, c.msg) {
				t.Errorf("Msg %q does not contain %q", se.Msg, c.msg)
			}
			if se.Fix == "" || !strings.Contains(se.Fix, c.fix) {
				t.Errorf("Fix %q does not contain %q", se.Fix, c.fix)
			}
			if se.Filename != "shabunble.yaml" {
				t.Errorf("Filename %q", se.Filename)
			}
			want := fmt.Sprintf("shabunble.yaml:%d:%d: ", c.line, c.col) + se.Msg + "; " + se.Fix
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if strings.Contains(err.Error(), "goroutine") || strings.Contains(err.Error(), "\n\t") {
				t.Errorf("error looks like a stack trace: %q", err)
			}
		})
	}
}

func TestPos(t *testing.T) {
	s := mustParse(t, `language: python
app: app
entrypoint:
  - boom.py
  - --loops
  - "3"
env: {PORT: 8080}
base:
  build: docker.io/library/python:3.13-slim-trixie
`)
	for path, want := range map[string]spec.Position{
		"language":      {1, 1},
		"app":           {2, 1},
		"entrypoint":    {3, 1},
		"entrypoint[0]": {4, 5},
		"entrypoint[1]": {5, 5},
		"entrypoint[2]": {6, 5},
		"env.PORT":      {7, 7},
		"base":          {8, 1},
		"base.build":    {9, 3},
		// Not written: where language is.
		"base.deploy": {1, 1},
		"user":        {1, 1},
	} {
		if got := s.Pos(path); got != want {
			t.Errorf("Pos(%q) = %v, want %v", path, got, want)
		}
	}
	if !s.Has("base.build") || s.Has("base.deploy") || !s.Has("entrypoint[1]") || s.Has("entrypoint[3]") {
		t.Errorf("Has is wrong")
	}
	// Errorf points at the value's key.
	if e := s.Errorf("entrypoint[1]", "fix it", "bad %s", "arg"); e.Line != 5 || e.Column != 5 || e.Error() != "shabunble.yaml:5:5: bad arg; fix it" {
		t.Errorf("Errorf = %+v (%v)", e, e)
	}
}

func TestPosFlow(t *testing.T) {
	s := mustParse(t, "language: python\nentrypoint: [boom.py, --loops, \"3\"]\n")
	if got := s.Pos("entrypoint[1]"); got != (spec.Position{Line: 2, Column: 23}) {
		t.Errorf("Pos(entrypoint[1]) = %v", got)
	}
}
