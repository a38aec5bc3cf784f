package spec

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

func (s *Spec) setDefaults() {
	if s.App == "" {
		s.App = "."
	}
	if s.Deploy == "" {
		s.Deploy = Distroless
	}
	if s.User == "" {
		s.User = DefaultUser
	}
	if s.Workdir == "" {
		s.Workdir = DefaultWorkdir
	}
	if s.Language == Python {
		if s.Base.Build == "" {
			s.Base.Build = DefaultPythonBuild
		}
		if s.Base.Deploy == "" && s.Deploy == Shell {
			s.Base.Deploy = DefaultShellDeploy
		} else if s.Base.Deploy == "" && s.Deploy == Distroless {
			s.Base.Deploy = DefaultPythonDeploy
		}
	}
}

func (s *Spec) validate() error {
	for _, check := range []func() error{
		s.validateLanguage, s.validateDeploy, s.validateApp, s.validateEntrypoint,
		s.validateRequirements, s.validateUser, s.validateWorkdir, s.validateEnv, s.validateBase,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) validateLanguage() error {
	switch s.Language {
	case Python:
		return nil
	case "":
		return &Error{Filename: s.Filename, Position: Position{1, 1}, Msg: "the spec has no `language`", Fix: "add `language: python`"}
	case "node", "go", "static":
		return s.Errorf("language", "use `language: python` for now", "language %q is not yet supported", s.Language)
	}
	return s.Errorf("language", "use `language: python`", "unknown language %q", s.Language)
}

func (s *Spec) validateDeploy() error {
	switch s.Deploy {
	case Distroless, Scratch, Shell:
	default:
		return s.Errorf("deploy", "use one of distroless, scratch or shell", "unknown deploy mode %q", s.Deploy)
	}
	if s.Deploy == Scratch && s.Base.Deploy != "" {
		return s.Errorf("base.deploy", "remove base.deploy: a scratch image starts from nothing", "deploy: scratch takes no base image")
	}
	if s.Deploy != Shell && len(s.Keep) > 0 {
		return s.Errorf("keep", "remove keep, or use `deploy: shell`", "keep only applies to deploy: shell")
	}
	for i, k := range s.Keep {
		if k.Name == "" || strings.ContainsAny(k.Name, "*?[\\") || (strings.Contains(k.Name, "/") && !path.IsAbs(k.Name)) {
			return s.Errorf(fmt.Sprintf("keep[%d]", i), "name a program such as curl, or give its absolute path", "keep %q is not a program name", k.Name)
		}
	}
	for i, w := range s.Writable {
		if !path.IsAbs(w) || path.Clean(w) == "/" {
			return s.Errorf(fmt.Sprintf("writable[%d]", i), "give an absolute folder such as /app/data", "writable %q must be an absolute folder other than /", w)
		}
	}
	return nil
}

// inside reports whether p is a relative path that stays inside its root.
func inside(p string) bool {
	c := path.Clean(p)
	return !path.IsAbs(p) && c != ".." && !strings.HasPrefix(c, "../")
}

func (s *Spec) validateApp() error {
	if !inside(s.App) {
		return s.Errorf("app", "give a folder relative to the build context, such as `app: app`",
			"app %q is outside the build context", s.App)
	}
	s.App = path.Clean(s.App)
	return nil
}

func (s *Spec) validateEntrypoint() error {
	if len(s.Entrypoint) == 0 {
		if s.Has("entrypoint") {
			return s.Errorf("entrypoint", "name the program file first, e.g. `entrypoint: [main.py]`", "entrypoint is empty")
		}
		return &Error{Filename: s.Filename, Position: s.Pos("language"), Msg: "the spec has no `entrypoint`",
			Fix: "add the program file and its arguments, e.g. `entrypoint: [main.py, --port, \"8080\"]`"}
	}
	if s.Entrypoint[0] == "" || !inside(s.Entrypoint[0]) || path.Clean(s.Entrypoint[0]) == "." {
		return s.Errorf("entrypoint[0]", "name a file relative to app, such as `main.py`",
			"entrypoint %q is not a file inside app %q", s.Entrypoint[0], s.App)
	}
	s.Entrypoint[0] = path.Clean(s.Entrypoint[0])
	return nil
}

func (s *Spec) validateRequirements() error {
	if !s.Has("requirements") {
		return nil
	}
	if s.Requirements == "" || !inside(s.Requirements) || path.Clean(s.Requirements) == "." {
		return s.Errorf("requirements", "name a file relative to app, such as `requirements.txt`",
			"requirements %q is not a file inside app %q", s.Requirements, s.App)
	}
	s.Requirements = path.Clean(s.Requirements)
	return nil
}

var userRe = regexp.MustCompile(`^([0-9]+|[a-z_][a-z0-9_-]*)(:([0-9]+|[a-z_][a-z0-9_-]*))?$`)

func (s *Spec) validateUser() error {
	m := userRe.FindStringSubmatch(s.User)
	if m == nil {
		return s.Errorf("user", "write uid:gid, such as \"65532:65532\"", "user %q is not uid:gid", s.User)
	}
	if m[2] == "" && m[1] != "root" && m[1] != "0" {
		return s.Errorf("user", fmt.Sprintf("write %q", s.User+":"+s.User),
			"user %q has no group, so the app would run with group 0 (root)", s.User)
	}
	return nil
}

func (s *Spec) validateWorkdir() error {
	if !path.IsAbs(s.Workdir) || path.Clean(s.Workdir) == "/" {
		return s.Errorf("workdir", "use an absolute folder such as /app", "workdir %q must be an absolute path other than /", s.Workdir)
	}
	s.Workdir = path.Clean(s.Workdir)
	return nil
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s *Spec) validateEnv() error {
	for k := range s.Env {
		if !envNameRe.MatchString(k) {
			return s.Errorf("env."+k, "use letters, digits and _", "env name %q is not valid", k)
		}
	}
	return nil
}

func (s *Spec) validateBase() error {
	for _, b := range []struct{ key, ref string }{{"base.build", s.Base.Build}, {"base.deploy", s.Base.Deploy}} {
		key, ref := b.key, b.ref
		if ref == "" && key == "base.deploy" && s.Deploy == Scratch {
			continue
		}
		if _, err := reference.ParseNormalizedNamed(ref); err != nil {
			return s.Errorf(key, "write an image reference such as docker.io/library/python:3.13-slim-trixie",
				"%s %q is not a valid image reference: %v", key, ref, err)
		}
	}
	return nil
}
