package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

const frontendImage = "ghcr.io/shabunble/shabunble:1"

func TestGatewayFrontend(t *testing.T) {
	w := world.Load(t)
	dir := example("python-basic")
	dest := filepath.Join(t.TempDir(), "image.tar")
	if _, stderr, err := w.Buildctl(t, "build", "--frontend", "gateway.v0", "--opt", "source="+frontendImage,
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--opt", "filename=shabunble.yaml",
		"--output", "type=oci,dest="+dest); err != nil {
		t.Fatalf("gateway.v0 build: %v\n%s", err, tail(stderr, 3000))
	}
	res := mustRun(t, dest, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "B O O M !")
}

// TestDefaultSpecName checks that without -f the frontend finds
// shabunble.yaml, as gateway.v0 passes no filename.
func TestDefaultSpecName(t *testing.T) {
	w := world.Load(t)
	dir := example("python-basic")
	dest := filepath.Join(t.TempDir(), "image.tar")
	if _, stderr, err := w.Buildctl(t, "build", "--frontend", "gateway.v0", "--opt", "source="+frontendImage,
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--output", "type=oci,dest="+dest); err != nil {
		t.Fatalf("build without filename: %v\n%s", err, tail(stderr, 3000))
	}
}

func TestBadSpecPointsAtLine(t *testing.T) {
	w := world.Load(t)
	dir := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [main.py]\nentrypiont: [oops.py]\n",
		"main.py":        "print('hi')\n",
	})
	_, out, err := build(t, w, dir)
	if err == nil {
		t.Fatal("a spec with an unknown key built")
	}
	requireContains(t, "buildctl output", out, `shabunble.yaml:4:1: unknown key "entrypiont"`, `did you mean "entrypoint"?`)
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("the error has a Go stack trace:\n%s", out)
	}

	// A problem found against the build context points at its line too.
	dir = writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [missing.py]\n",
		"main.py":        "print('hi')\n",
	})
	_, out, err = build(t, w, dir)
	if err == nil {
		t.Fatal("a spec with a missing entrypoint file built")
	}
	requireContains(t, "buildctl output", out, `shabunble.yaml:3:14: entrypoint file "missing.py" is not in app "."`)
}

func TestAppSymlinkOutOfContext(t *testing.T) {
	w := world.Load(t)
	dir := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\napp: app\nentrypoint: [main.py]\n",
	})
	if err := os.Symlink("/etc", filepath.Join(dir, "app")); err != nil {
		t.Fatal(err)
	}
	_, out, err := build(t, w, dir)
	if err == nil {
		t.Fatal("an app symlinked out of the context built")
	}
	requireContains(t, "buildctl output", out, `shabunble.yaml:3:1: "app" is a symlink`)
}

func TestMultiPlatform(t *testing.T) {
	w := world.Load(t)
	img, _ := mustBuild(t, w, example("python-basic"), "--opt", "platform=linux/amd64,linux/arm64")
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		cfg := world.ImageConfig(t, img, p)
		if cfg.OS+"/"+cfg.Architecture != p {
			t.Errorf("%s: config platform is %s/%s", p, cfg.OS, cfg.Architecture)
		}
		if len(cfg.Config.Entrypoint) == 0 || cfg.Config.Entrypoint[1] != "/app/boom.py" {
			t.Errorf("%s: entrypoint %q", p, cfg.Config.Entrypoint)
		}
	}
}

func TestLabelsAndBuildContext(t *testing.T) {
	w := world.Load(t)
	// Override the deploy base with the build image, which has a shell: the
	// result proves the override was used.
	img, _ := mustBuild(t, w, example("python-basic"),
		"--opt", "label:org.example.team=boom",
		"--opt", "context:gcr.io/distroless/python3-debian13=docker-image://docker.io/library/python:3.13-slim-trixie")
	cfg := world.ImageConfig(t, img, "")
	if cfg.Config.Labels["org.example.team"] != "boom" {
		t.Errorf("label missing: %v", cfg.Config.Labels)
	}
	res, err := world.RunImage(t, img, world.RunOpts{Entrypoint: []string{"/bin/sh", "-c", "echo overridden"}})
	if err != nil || !strings.Contains(res.Stdout, "overridden") {
		t.Errorf("the --build-context deploy base was not used: %v\n%s%s", err, res.Stdout, res.Stderr)
	}
}

func TestNoCacheAndCacheImport(t *testing.T) {
	w := world.Load(t)
	dir := example("python-requirements")
	index := "build-arg:PIP_INDEX_URL=" + w.PipIndex
	cacheDir := t.TempDir()
	mustBuild(t, w, dir, "--opt", index, "--export-cache", "type=local,mode=max,dest="+cacheDir)

	_, out := mustBuild(t, w, dir, "--opt", index)
	if !cachedStep(out, "pip install") {
		t.Fatalf("a rebuild did not use the cache for pip install:\n%s", tail(out, 3000))
	}
	_, out = mustBuild(t, w, dir, "--opt", index, "--no-cache")
	if cachedStep(out, "pip install") {
		t.Fatalf("--no-cache still used the cache:\n%s", tail(out, 3000))
	}

	if _, stderr, err := w.Buildctl(t, "prune", "--all"); err != nil {
		t.Fatalf("prune: %v\n%s", err, stderr)
	}
	_, out = mustBuild(t, w, dir, "--opt", index, "--import-cache", "type=local,src="+cacheDir)
	if !cachedStep(out, "pip install") {
		t.Fatalf("the imported cache was not used for pip install:\n%s", tail(out, 3000))
	}
}

// cachedStep reports whether buildctl's plain progress shows the step whose
// name contains name as CACHED.
func cachedStep(out, name string) bool {
	ids := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.Contains(line, name) {
			ids[f[0]] = true
		}
		if ids[f[0]] && f[1] == "CACHED" {
			return true
		}
	}
	return false
}

// TestPythonVersionMismatch gives the build stage an image whose Python is
// 3.12: the build must stop, naming both versions.
func TestPythonVersionMismatch(t *testing.T) {
	w := world.Load(t)
	base := w.Registry + "/test/python:3.12-lookalike"
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM docker.io/library/python:3.13-slim-trixie\nRUN mkdir -p /usr/local/bin && ln -s /usr/bin/python3.13 /usr/local/bin/python3.12\n",
	})
	if _, stderr, err := w.Buildctl(t, "build", "--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+base+",push=true,registry.insecure=true"); err != nil {
		t.Fatalf("3.12 base: %v\n%s", err, stderr)
	}
	spec := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [main.py]\nbase:\n  build: " + base + "\n",
		"main.py":        "print('hi')\n",
	})
	_, out, err := build(t, w, spec)
	if err == nil {
		t.Fatal("a build image with Python 3.12 and a deploy image with 3.13 built")
	}
	requireContains(t, "buildctl output", out, "shabunble.yaml:5:3: the build image "+base+" has Python 3.12 (/usr/local/bin/python3.12)",
		"the deploy image gcr.io/distroless/python3-debian13 has Python 3.13 (/usr/bin/python3.13)")
}
