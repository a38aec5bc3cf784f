package world_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// build runs a Dockerfile build in the world and returns the OCI tar.
func build(t *testing.T, w *world.World, dockerfile string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	args := append([]string{"build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--output", "type=oci,dest=" + out}, extra...)
	_, stderr, err := w.Buildctl(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return out
}

// TestPythonSlim proves RUN works in buildkitd (seccomp runc), docker.io
// resolves to the world registry, pip and venv work in the python image,
// and the pip index (a wheel with a C extension) is reachable from RUN.
func TestPythonSlim(t *testing.T) {
	w := world.Load(t)
	tar := build(t, w, `FROM docker.io/library/python:3.13-slim-trixie
ARG INDEX
RUN python3 -m pip --version && python3 -m venv /v && /v/bin/python -c "import sys; print(sys.prefix)"
RUN pip install --target /t --index-url "$INDEX" markupsafe && python3 -c "import sys; sys.path.insert(0,'/t'); import markupsafe._speedups"
RUN test -s /etc/ssl/certs/ca-certificates.crt && test ! -e /usr/lib/python3.13/EXTERNALLY-MANAGED
`, "--opt", "build-arg:INDEX="+w.PipIndex)
	res, err := w.RunImage(t, tar, world.RunOpts{Cmd: []string{"python3", "-c", "import sys; sys.path.insert(0,'/t'); import markupsafe; print(markupsafe.escape('<x>'))"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "&lt;x&gt;" {
		t.Fatalf("got exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	cf := w.ImageConfig(t, tar, "linux/amd64")
	if !hasEnvPrefix(cf.Config.Env, "PYTHON_VERSION=3.13.") {
		t.Errorf("PYTHON_VERSION not set: %v", cf.Config.Env)
	}
}

// TestDistroless proves gcr.io resolves to the world registry and the
// distroless look-alike runs python but has no shell.
func TestDistroless(t *testing.T) {
	w := world.Load(t)
	tar := build(t, w, "FROM gcr.io/distroless/python3-debian13\n")
	res, err := w.RunImage(t, tar, world.RunOpts{Cmd: []string{"-c", "import sys, ssl, sqlite3, zlib; print(sys.version)"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, "3.13.") {
		t.Fatalf("got exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	root := w.Rootfs(t, tar, "linux/amd64")
	for _, p := range []string{"bin/sh", "usr/bin/sh", "usr/bin/ls", "usr/bin/cat"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("distroless has /%s", p)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/python3")); err != nil {
		t.Errorf("no /usr/bin/python3: %v", err)
	}
	// The non-root user is known by name.
	res, err = w.RunImage(t, tar, world.RunOpts{User: "nonroot", Cmd: []string{"-c", "import os; print(os.getuid(), os.getgid())"}})
	if err != nil || strings.TrimSpace(res.Stdout) != "65532 65532" {
		t.Fatalf("nonroot: %v %+v", err, res)
	}
}

// TestMultiPlatform proves the base images carry linux/arm64 too.
func TestMultiPlatform(t *testing.T) {
	w := world.Load(t)
	tar := build(t, w, "FROM gcr.io/distroless/python3-debian13\n", "--opt", "platform=linux/amd64,linux/arm64")
	if cf := w.ImageConfig(t, tar, "linux/arm64"); cf.Architecture != "arm64" {
		t.Fatalf("arm64 image has architecture %q", cf.Architecture)
	}
	root := w.Rootfs(t, tar, "linux/arm64")
	if _, err := os.Stat(filepath.Join(root, "usr/lib/ld-linux-aarch64.so.1")); err != nil {
		t.Errorf("arm64 rootfs: %v", err)
	}
}

// TestFrontendImage proves the frontend image is in the registry under its
// ghcr.io name.
func TestFrontendImage(t *testing.T) {
	w := world.Load(t)
	tar := build(t, w, "FROM ghcr.io/shabunble/shabunble:1\n")
	cf := w.ImageConfig(t, tar, "linux/amd64")
	if len(cf.Config.Entrypoint) == 0 || cf.Config.Entrypoint[0] != "/bin/shabunble-frontend" {
		t.Fatalf("frontend entrypoint %v", cf.Config.Entrypoint)
	}
}

func hasEnvPrefix(env []string, prefix string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// TestPipPrivateIndex proves the private index needs the credential.
func TestPipPrivateIndex(t *testing.T) {
	w := world.Load(t)
	get := func(user, pw string) (int, string) {
		req, err := http.NewRequest("GET", w.PipPrivateIndex+"markupsafe/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credential: got %d, want 401", code)
	}
	if code, _ := get(w.PipPrivateUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: got %d, want 401", code)
	}
	code, body := get(w.PipPrivateUser, w.PipPrivatePassword)
	if code != http.StatusOK || !strings.Contains(body, "cp313-cp313-linux_x86_64.whl#sha256=") {
		t.Errorf("with credential: got %d %q", code, body)
	}
}
