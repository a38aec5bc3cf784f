package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// TestShellKeepsBusyboxApplets gives shell mode a base whose programs are
// busybox applets (symlinks in /usr/local/bin to one multi-call binary):
// keeping wget keeps busybox, which wget runs, and no other applet.
func TestShellKeepsBusyboxApplets(t *testing.T) {
	w := world.Load(t)
	if w.Busybox == "" {
		t.Fatal("test world env lacks SHABUNBLE_BUSYBOX: run `make world`")
	}
	base := w.Registry + "/test/busybox-shell:1"
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM docker.io/library/debian:trixie-slim\n" +
			"COPY busybox /bin/busybox\n" +
			// The world's trixie-slim has no /usr/local/bin, and busybox
			// --install skips a missing folder with exit code 0.
			`RUN ["/bin/busybox", "mkdir", "-p", "/usr/local/bin"]` + "\n" +
			`RUN ["/bin/busybox", "--install", "-s", "/usr/local/bin"]` + "\n" +
			`RUN ["/bin/busybox", "test", "-L", "/usr/local/bin/wget", "-a", "-L", "/usr/local/bin/ls"]` + "\n",
	})
	bb, err := os.ReadFile(w.Busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := w.Buildctl(t, "build", "--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+base+",push=true,registry.insecure=true"); err != nil {
		t.Fatalf("busybox base: %v\n%s", err, stderr)
	}

	appDir := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [main.py]\ndeploy: shell\nkeep: [sh, wget]\nbase: {deploy: " + base + "}\n",
		"main.py":        "print('hi from the app')\n",
	})
	img, _ := mustBuild(t, w, appDir)

	requireContains(t, "app", mustRun(t, img, world.RunOpts{}).Stdout, "hi from the app")

	// busybox applets print their usage on --help; do not rely on the exit code.
	res, err := world.RunImage(t, img, world.RunOpts{Entrypoint: []string{"wget", "--help"}})
	if err != nil {
		t.Fatalf("wget --help: %v", err)
	}
	out := res.Stdout + res.Stderr
	requireContains(t, "wget --help", out, "BusyBox", "Usage: wget")
	if strings.Contains(out, "not found") {
		t.Errorf("wget --help (exit %d): %s", res.ExitCode, out)
	}
	requireContains(t, "sh", mustRun(t, img, world.RunOpts{Entrypoint: []string{"sh", "-c", "echo ok"}}).Stdout, "ok")

	requireNotRunnable(t, img, "/usr/local/bin/ls", "/usr/local/bin/cat", "vi", "ls", "cat", "bash", "apt-get")
	// Nor through the kept shell, which finds applets by PATH.
	res, _ = world.RunImage(t, img, world.RunOpts{Entrypoint: []string{"sh", "-c", "ls /"}})
	requireContains(t, "ls through sh", res.Stderr, "not found")

	fl := files(t, img)
	found := false
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if m, ok := fl[p]; ok && m.IsRegular() {
			found = true
		}
	}
	if !found {
		t.Error("the busybox binary, which the kept wget runs, is not in the image")
	}
	for _, gone := range []string{"/usr/local/bin/ls", "/usr/local/bin/cat", "/usr/local/bin/vi", "/usr/local/bin/sh"} {
		if _, ok := fl[gone]; ok {
			t.Errorf("applet %s is still in the image", gone)
		}
	}
	if _, ok := fl["/usr/local/bin/wget"]; !ok {
		t.Error("kept applet /usr/local/bin/wget is not in the image")
	}
	checkHardened(t, fl)
}
