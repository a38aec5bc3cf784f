package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// build runs `buildctl build` through the dockerfile.v0 frontend, so that
// the spec's `# syntax=` line picks our frontend image, as it does for a
// user. It returns the path of the OCI layout tar and buildctl's output.
func build(t *testing.T, w *world.World, dir string, extra ...string) (string, string, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "image.tar")
	args := append([]string{"build",
		"--frontend", "dockerfile.v0",
		"--local", "context=" + dir,
		"--local", "dockerfile=" + dir,
		"--opt", "filename=shabunble.yaml",
		"--output", "type=oci,dest=" + dest,
		"--progress", "plain",
	}, extra...)
	stdout, stderr, err := w.Buildctl(t, args...)
	return dest, stdout + stderr, err
}

// mustBuild is build that fails the test when the build fails.
func mustBuild(t *testing.T, w *world.World, dir string, extra ...string) (string, string) {
	t.Helper()
	dest, out, err := build(t, w, dir, extra...)
	if err != nil {
		t.Fatalf("build of %s failed: %v\n%s", dir, err, tail(out, 4000))
	}
	return dest, out
}

func example(name string) string {
	abs, err := filepath.Abs(filepath.Join("..", "examples", name))
	if err != nil {
		panic(err)
	}
	return abs
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// writeFiles creates files (path -> content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// blobsContaining returns the names of the blobs in an OCI layout tar whose
// content, decompressed and with nested tars read entry by entry, contains
// needle. It looks at every blob: layers, configs, manifests and
// attestations such as provenance.
func blobsContaining(t *testing.T, ociTar string, needle []byte) []string {
	t.Helper()
	f, err := os.Open(ociTar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hits []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if containsDeep(dt, needle) {
			hits = append(hits, h.Name)
		}
	}
	return hits
}

func containsDeep(dt, needle []byte) bool {
	if bytes.Contains(dt, needle) {
		return true
	}
	if zr, err := gzip.NewReader(bytes.NewReader(dt)); err == nil {
		if un, err := io.ReadAll(zr); err == nil && bytes.Contains(un, needle) {
			return true
		}
	}
	return false
}

func requireContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("%s does not contain %q:\n%s", what, want, tail(s, 3000))
		}
	}
}

// imageSize is the uncompressed size of the regular files of an image.
func imageSize(t *testing.T, img string) int64 {
	t.Helper()
	var n int64
	root := world.Rootfs(t, img, "")
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// requireCountdown checks the basic example's output: the greeting, the
// countdown and the three explosions its spec's --loops 3 asks for.
func requireCountdown(t *testing.T, stdout string) {
	t.Helper()
	requireContains(t, "output", stdout, "hello", "10\n", "1\n", "B O O M !")
	if n := strings.Count(stdout, "B O O M !"); n != 3 {
		t.Errorf("want 3 explosions for --loops 3, got %d", n)
	}
}

// mustRun runs the image and fails the test unless it exits 0.
func mustRun(t *testing.T, img string, opts world.RunOpts) world.RunResult {
	t.Helper()
	res, err := world.RunImage(t, img, opts)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run %v failed: %v (exit %d)\nstdout:\n%s\nstderr:\n%s", opts, err, res.ExitCode, res.Stdout, res.Stderr)
	}
	return res
}
