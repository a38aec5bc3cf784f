// Package spec is the shabunble spec model: the YAML file a user writes, its
// defaults and its validation. Every value keeps the place in the file it came
// from, so that errors and build steps can point back at it.
package spec

// Version 1 of the spec. Field names are the YAML keys.
type Spec struct {
	// Language of the app. Only python is supported so far.
	Language string `yaml:"language" json:"language" jsonschema:"enum=python"`
	// App is the folder in the build context that is copied into the image.
	App string `yaml:"app,omitempty" json:"app,omitempty" jsonschema:"default=."`
	// Requirements is the dependency manifest, relative to App. For python
	// the default is requirements.txt when it exists.
	Requirements string `yaml:"requirements,omitempty" json:"requirements,omitempty"`
	// Entrypoint is the program file (relative to App) followed by its
	// arguments. It is run in exec form, without a shell.
	Entrypoint []string `yaml:"entrypoint" json:"entrypoint" jsonschema:"minItems=1"`
	// Deploy is the kind of deploy stage.
	Deploy string `yaml:"deploy,omitempty" json:"deploy,omitempty" jsonschema:"enum=distroless,enum=scratch,enum=shell,default=distroless"`
	// User the app runs as, as uid:gid. Root only when written out.
	User string `yaml:"user,omitempty" json:"user,omitempty" jsonschema:"default=65532:65532"`
	// Env is set in the image config.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Workdir is where the app is copied and the working directory.
	Workdir string `yaml:"workdir,omitempty" json:"workdir,omitempty" jsonschema:"default=/app"`
	// Base overrides the build and deploy images.
	Base Base `yaml:"base,omitempty" json:"base,omitempty"`
	// Keep lists the only programs left runnable with deploy: shell. Each is
	// a name looked up in the PATH folders, or an absolute path; written as
	// `name: why`, it also says why it is kept.
	Keep []Keep `yaml:"keep,omitempty" json:"keep,omitempty"`
	// Writable lists folders the runtime user may write to. Everything
	// else of the app and its environment is owned by root, read-only.
	Writable []string `yaml:"writable,omitempty" json:"writable,omitempty"`
	// Python holds options for language: python.
	Python PythonOptions `yaml:"python,omitempty" json:"python,omitempty"`

	// Filename is the spec file's name in the build context.
	Filename string `yaml:"-" json:"-"`
	// Source is the spec file's content.
	Source []byte `yaml:"-" json:"-"`
	pos    map[string]Position
}

// Base names the two images a build starts from.
type Base struct {
	// Build is the tool-rich image dependencies are installed in.
	Build string `yaml:"build,omitempty" json:"build,omitempty"`
	// Deploy is the image the app runs in.
	Deploy string `yaml:"deploy,omitempty" json:"deploy,omitempty"`
}

// Keep is one program kept in a shell deploy image.
type Keep struct {
	// Name is the program's name in the PATH folders, or its absolute path.
	Name string `json:"name"`
	// Why is the reason it is kept, recorded in the image history.
	Why string `json:"why,omitempty"`
}

// PythonOptions are the options for Python apps.
type PythonOptions struct {
	// Bytecode ships the app as .pyc files only, without its .py sources.
	Bytecode bool `yaml:"bytecode,omitempty" json:"bytecode,omitempty"`
}

// Languages and deploy modes.
const (
	Python     = "python"
	Distroless = "distroless"
	Scratch    = "scratch"
	Shell      = "shell"
)

// Defaults.
const (
	DefaultUser         = "65532:65532"
	DefaultWorkdir      = "/app"
	DefaultRequirements = "requirements.txt"
	DefaultPythonBuild  = "docker.io/library/python:3.13-slim-trixie"
	DefaultPythonDeploy = "gcr.io/distroless/python3-debian13"
	DefaultShellDeploy  = "docker.io/library/debian:trixie-slim"
)

// Position is a 1-based line and column in the spec file.
type Position struct {
	Line, Column int
}

// Pos returns where the value at path (such as "entrypoint[0]" or
// "base.build") was written, or where the language key is when it was not.
func (s *Spec) Pos(path string) Position {
	if p, ok := s.pos[path]; ok {
		return p
	}
	if p, ok := s.pos["language"]; ok {
		return p
	}
	return Position{Line: 1, Column: 1}
}

// Has reports whether the user wrote the value at path.
func (s *Spec) Has(path string) bool {
	_, ok := s.pos[path]
	return ok
}
