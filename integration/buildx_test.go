package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// The product promises `docker buildx build -f shabunble.yaml .`. These
// tests run buildx v0.38.2 (built by `make world`) against the world's
// buildkitd through the remote-driver builder world.BuildxBuilder.
//
// They go through `docker buildx`, i.e. the docker CLI running buildx as a
// CLI plugin from the world's DOCKER_CONFIG: that works without a Docker
// engine, since the remote driver talks to buildkitd directly. On a machine
// without the docker CLI they run the same buildx binary directly (the code
// that runs is the same; only the plugin hand-off is not exercised), and
// say so in the log.

// buildx runs `docker buildx ARGS` (or `buildx ARGS`, see above) in the
// world and returns its combined output.
func buildx(t *testing.T, w *world.World, args ...string) (string, error) {
	t.Helper()
	stdout, stderr, err := buildx2(t, w, args...)
	return stdout + stderr, err
}

// buildx2 is buildx with stdout and stderr apart.
func buildx2(t *testing.T, w *world.World, args ...string) (string, string, error) {
	t.Helper()
	var cmd *exec.Cmd
	if docker, err := exec.LookPath("docker"); err == nil {
		cmd = exec.Command(docker, append([]string{"buildx"}, args...)...)
	} else {
		t.Logf("no docker CLI on PATH: running %s directly instead of `docker buildx`", w.BuildxBin)
		cmd = exec.Command(w.BuildxBin, args...)
	}
	if w.BuildxBin == "" || w.DockerConfig == "" {
		t.Fatal("the world has no buildx (SHABUNBLE_BUILDX / DOCKER_CONFIG): run `make world`")
	}
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+w.DockerConfig, "BUILDX_BUILDER=", "BUILDKIT_PROGRESS=plain")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return o.String(), e.String(), err
}

// buildxBuild runs `docker buildx build --builder shabunble-world -f
// DIR/shabunble.yaml ... DIR` and fails the test if it fails.
func buildxBuild(t *testing.T, w *world.World, dir string, extra ...string) string {
	t.Helper()
	args := append([]string{"build", "--builder", world.BuildxBuilder, "--progress", "plain",
		"-f", filepath.Join(dir, "shabunble.yaml")}, extra...)
	out, err := buildx(t, w, append(args, dir)...)
	if err != nil {
		t.Fatalf("buildx %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	return out
}

// TestBuildxPlugin checks that `docker buildx` is the pinned buildx and
// that the world's builder is the remote driver on the world's buildkitd.
func TestBuildxPlugin(t *testing.T) {
	w := world.Load(t)
	out, err := buildx(t, w, "version")
	if err != nil {
		t.Fatalf("buildx version: %v\n%s", err, out)
	}
	requireContains(t, "buildx version", out, "github.com/docker/buildx v0.38.2")
	out, err = buildx(t, w, "inspect", world.BuildxBuilder)
	if err != nil {
		t.Fatalf("buildx inspect: %v\n%s", err, out)
	}
	requireContains(t, "buildx inspect", out, "Driver:        remote", w.BuildkitHost, "running")
}

// TestBuildxBuild: `docker buildx build -f shabunble.yaml` builds through
// the spec's `# syntax=` line, and the image runs the countdown.
func TestBuildxBuild(t *testing.T) {
	w := world.Load(t)
	img := filepath.Join(t.TempDir(), "image.tar")
	out := buildxBuild(t, w, example("python-basic"), "--output", "type=oci,dest="+img)
	requireContains(t, "buildx output", out,
		`building with "`+world.BuildxBuilder+`" instance using remote driver`,
		"resolve image config for docker-image://"+frontendImage)

	res := mustRun(t, img, world.RunOpts{})
	requireCountdown(t, res.Stdout)
	res, _ = world.RunImage(t, img, world.RunOpts{Entrypoint: []string{"sh"}})
	if res.ExitCode == 0 || !strings.Contains(res.Stdout+res.Stderr, "not found") {
		t.Errorf("--entrypoint sh did not fail with not found (exit %d):\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
}

// TestBuildxCall: `buildx build --call targets|outline|check` are answered
// by our frontend. The Dockerfile parser would fail on the YAML (or know
// no "deploy"/"build" stages and no PIP_INDEX_URL arg), so this shows
// --call never falls back to it.
func TestBuildxCall(t *testing.T) {
	w := world.Load(t)
	dir := example("python-requirements")
	notDockerfile := func(t *testing.T, what, out string) {
		t.Helper()
		for _, bad := range []string{"dockerfile parse error", "unknown instruction", "Dockerfile"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: looks like the Dockerfile frontend answered (%q):\n%s", what, bad, tail(out, 3000))
			}
		}
	}

	t.Run("targets", func(t *testing.T) {
		out := buildxBuild(t, w, dir, "--call", "targets")
		requireContains(t, "--call targets", out, "deploy (default)", "the unenterable image", "build ", "the build stage")
		notDockerfile(t, "--call targets", out)
	})

	t.Run("outline", func(t *testing.T) {
		out := buildxBuild(t, w, dir, "--call", "outline")
		requireContains(t, "--call outline", out, "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "passed to pip install")
		notDockerfile(t, "--call outline", out)

		// The JSON form carries the spec itself as the source.
		js, stderr, err := buildx2(t, w, "build", "--builder", world.BuildxBuilder,
			"-f", filepath.Join(dir, "shabunble.yaml"), "--call", "outline,format=json", dir)
		if err != nil {
			t.Fatalf("--call outline,format=json: %v\n%s", err, tail(stderr, 3000))
		}
		var outline struct {
			Args []struct {
				Name string `json:"name"`
			} `json:"args"`
			Sources []string `json:"sources"`
		}
		if err := json.Unmarshal([]byte(js), &outline); err != nil {
			t.Fatalf("--call outline,format=json: %v\n%s", err, js)
		}
		var names []string
		for _, a := range outline.Args {
			names = append(names, a.Name)
		}
		requireContains(t, "outline args", strings.Join(names, " "), "PIP_INDEX_URL")
		spec, _ := os.ReadFile(filepath.Join(dir, "shabunble.yaml"))
		if len(outline.Sources) != 1 {
			t.Fatalf("outline sources = %d, want the spec", len(outline.Sources))
		}
		src, err := base64.StdEncoding.DecodeString(outline.Sources[0])
		if err != nil || !bytes.Equal(src, spec) {
			t.Errorf("outline source is not the spec (%v):\n%s", err, src)
		}
	})

	t.Run("check", func(t *testing.T) {
		out := buildxBuild(t, w, dir, "--call", "check")
		requireContains(t, "--call check", out, "Check complete, no warnings found.")
		notDockerfile(t, "--call check", out)
	})
}

// TestBuildxOptions: --build-arg, --label and a two-platform --platform
// through buildx do what they do through buildctl.
func TestBuildxOptions(t *testing.T) {
	w := world.Load(t)

	t.Run("build-arg and label", func(t *testing.T) {
		// No index is reachable but the world's: the build only succeeds if
		// --build-arg PIP_INDEX_URL reaches pip.
		img := filepath.Join(t.TempDir(), "image.tar")
		buildxBuild(t, w, example("python-requirements"),
			"--build-arg", "PIP_INDEX_URL="+w.PipIndex,
			"--label", "org.example.team=boom",
			"--output", "type=oci,dest="+img)
		res := mustRun(t, img, world.RunOpts{})
		requireContains(t, "output", res.Stdout, "&lt;script&gt;", "/opt/shabunble/site-packages/markupsafe/")
		cfg := world.ImageConfig(t, img, "")
		if got := cfg.Config.Labels["org.example.team"]; got != "boom" {
			t.Errorf("label org.example.team = %q, want boom (labels %v)", got, cfg.Config.Labels)
		}
		for _, e := range cfg.Config.Env {
			if strings.HasPrefix(e, "PIP_") {
				t.Errorf("build arg leaked into the image config: %s", e)
			}
		}
	})

	t.Run("platforms", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "image.tar")
		buildxBuild(t, w, example("python-basic"),
			"--platform", "linux/amd64,linux/arm64", "--output", "type=oci,dest="+img)
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			cfg := world.ImageConfig(t, img, p)
			if cfg.OS+"/"+cfg.Architecture != p {
				t.Errorf("%s: config platform is %s/%s", p, cfg.OS, cfg.Architecture)
			}
			if len(cfg.Config.Entrypoint) < 2 || cfg.Config.Entrypoint[1] != "/app/boom.py" {
				t.Errorf("%s: entrypoint %q", p, cfg.Config.Entrypoint)
			}
			if cfg.Config.User != "65532:65532" {
				t.Errorf("%s: user %q", p, cfg.Config.User)
			}
		}
		res, err := world.RunImage(t, img, world.RunOpts{Platform: "linux/amd64"})
		if err != nil || res.ExitCode != 0 || !strings.Contains(res.Stdout, "B O O M !") {
			t.Errorf("the amd64 image of the index does not run: %v (exit %d)\n%s%s", err, res.ExitCode, res.Stdout, res.Stderr)
		}
	})
}
