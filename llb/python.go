package llb

import (
	"path"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/util/system"
	"github.com/shabunble/shabunble/frontend/spec"
)

// SitePackages is where the deploy image gets the app's dependencies.
const SitePackages = "/opt/shabunble/site-packages"

// PipBuildArgs are the build args pip honours during the install.
var PipBuildArgs = []string{"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"}

// Secret ids a user can pass with --secret to reach a private index.
const (
	SecretPipConf = "pip"
	SecretNetrc   = "netrc"
)

// deps is the output of the dependency install: a state whose root is the
// site-packages folder, or nothing when the app has no requirements.
type deps struct {
	State bk.State
	ok    bool
}

// pythonDeps installs the requirements with pip into an empty mount, so
// that the result holds the installed packages and nothing of the build
// image. Only the manifest is copied in, so edits to the code keep the
// cache.
func pythonDeps(in Input) deps {
	if !in.HasRequirements {
		return deps{}
	}
	req := requirementsPath(in.Spec)
	manifest := bk.Scratch().File(
		bk.Copy(in.Context, req, "/requirements.txt"),
		in.stageOpts(StageBuild, "copy "+req, "requirements")...)
	args := []string{in.Python.BuildInterpreter, "-m", "pip", "install",
		"--disable-pip-version-check", "--no-warn-script-location", "--no-input",
		"--root-user-action=ignore", "--target", "/out/site-packages", "-r", "/shabunble/requirements.txt"}
	opts := []bk.RunOption{
		bk.Args(args),
		bk.User("0:0"),
		bk.Dir("/"),
		bk.AddEnv("HOME", "/root"),
		bk.AddEnv("PATH", pathEnv(in.Build)),
		bk.AddMount("/shabunble", manifest, bk.Readonly),
		bk.AddMount("/root/.cache/pip", bk.Scratch(),
			bk.AsPersistentCacheDir("shabunble-pip-"+in.Python.Version, bk.CacheMountLocked)),
		// pip reads /etc/pip.conf; requests reads ~/.netrc. Both are
		// secrets: mounted for this step only, never in a layer or the LLB.
		bk.AddSecret("/etc/pip.conf", bk.SecretID(SecretPipConf), bk.SecretOptional),
		bk.AddSecret("/root/.netrc", bk.SecretID(SecretNetrc), bk.SecretOptional),
	}
	for _, k := range PipBuildArgs {
		if v, ok := in.BuildArgs[k]; ok {
			opts = append(opts, bk.AddEnv(k, v))
		}
	}
	cons := in.stageOpts(StageBuild, "pip install -r "+req, "requirements")
	for _, c := range cons {
		opts = append(opts, c)
	}
	run := in.Build.State.Run(opts...)
	return deps{State: run.AddMount("/out", bk.Scratch()), ok: true}
}

// requirementsPath is the requirements file in the build context. With no
// name in the spec it is the default one, never the app folder itself.
func requirementsPath(s *spec.Spec) string {
	name := s.Requirements
	if name == "" {
		name = spec.DefaultRequirements
	}
	return path.Join(s.App, name)
}

// PythonDeps is the state whose /site-packages holds the installed
// requirements, and whether there are any. The frontend reads it to find
// the libraries that native extensions need.
func PythonDeps(in Input) (bk.State, bool) {
	d := pythonDeps(in)
	return d.State, d.ok
}

func pathEnv(img Image) string {
	if img.Config != nil {
		for _, e := range img.Config.Config.Env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				return v
			}
		}
	}
	return system.DefaultPathEnvUnix
}

// pythonEntrypoint is the whole command: the interpreter, the app file and
// the spec's arguments. With no CMD and no shell, arguments given at run
// time can only be appended as more arguments to the app.
func pythonEntrypoint(in Input, interpreter string) []string {
	s := in.Spec
	prog := s.Entrypoint[0]
	if s.Python.Bytecode {
		prog = strings.TrimSuffix(prog, ".py") + ".pyc"
	}
	return append([]string{interpreter, path.Join(s.Workdir, prog)}, slices.Clone(s.Entrypoint[1:])...)
}

// compileScript compiles the app to .pyc files next to their sources
// (legacy layout, so that `python app.pyc` and imports work), then drops
// the sources.
const compileScript = `import compileall, pathlib, shutil, sys
shutil.copytree("/src", "/out", dirs_exist_ok=True, symlinks=True)
ok = compileall.compile_dir("/out", quiet=1, legacy=True)
for p in pathlib.Path("/out").rglob("*.py"):
    p.unlink()
sys.exit(0 if ok else 1)
`

// appSource is where the deploy stage copies the app from: the build
// context, or with python.bytecode the app compiled in the build stage by
// the build image's interpreter, which has the deploy interpreter's
// major.minor and so its bytecode format.
func appSource(in Input) (bk.State, string) {
	s := in.Spec
	if !s.Python.Bytecode {
		return in.Context, s.App
	}
	opts := []bk.RunOption{
		bk.Args([]string{in.Python.BuildInterpreter, "-c", compileScript}),
		bk.User("0:0"),
		bk.AddEnv("PATH", pathEnv(in.Build)),
		bk.AddMount("/src", in.Context, bk.SourcePath(s.App), bk.Readonly),
	}
	for _, c := range in.stageOpts(StageBuild, "compile "+s.App+" to bytecode", "python.bytecode") {
		opts = append(opts, c)
	}
	return in.Build.State.Run(opts...).AddMount("/out", bk.Scratch()), "/"
}

// pythonEnv is what the app needs in its environment, before the spec's env.
func pythonEnv(d deps) []string {
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	if d.ok {
		env = append(env, "PYTHONPATH="+SitePackages)
	}
	return env
}

// pythonBuildTarget is the build stage as an image (--target build): the
// build base with the dependencies and the app, for debugging with tools.
func pythonBuildTarget(in Input, d deps) *Result {
	in.Trim = nil
	st := harden(in, copyApp(in, StageBuild, copyDeps(in, StageBuild, in.Build.State, d)))
	img := imageConfig(in, in.Build.Config, true, pythonEntrypoint(in, in.Python.BuildInterpreter), pythonEnv(d), appLayers(in, d))
	return &Result{State: st, Image: img}
}
