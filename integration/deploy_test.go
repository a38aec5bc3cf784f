package integration

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"io/fs"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// buildSpec builds dir with the spec file name through `# syntax=`.
func buildSpec(t *testing.T, w *world.World, dir, name string, extra ...string) string {
	t.Helper()
	img, _ := mustBuild(t, w, dir, append([]string{"--opt", "filename=" + name}, extra...)...)
	return img
}

func requireNotRunnable(t *testing.T, img string, progs ...string) {
	t.Helper()
	for _, prog := range progs {
		res, err := world.RunImage(t, img, world.RunOpts{Entrypoint: []string{prog, "--version"}})
		out := res.Stdout + res.Stderr
		if err == nil && res.ExitCode == 0 {
			t.Errorf("%s ran in the image:\n%s", prog, out)
		} else if !strings.Contains(out, "not found") && !strings.Contains(out, "no such file or directory") {
			t.Errorf("%s: want a not-found error, got %v:\n%s", prog, err, out)
		}
	}
}

// files lists the modes of everything in an image.
func files(t *testing.T, img string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	for p, f := range world.Files(t, img, "") {
		out[p] = f.Mode
	}
	return out
}

func TestScratchBasic(t *testing.T) {
	w := world.Load(t)
	img := buildSpec(t, w, example("python-basic"), "scratch.yaml")
	res := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "hello", "10\n", "B O O M !")
	requireNotRunnable(t, img, "/bin/sh", "sh", "ls", "cat", "env")

	// Lazily imported standard modules work, native ones included.
	lazy := "import importlib, sys\nfor m in ['json', 'sqlite3', 'ssl', 'ctypes', 'decimal', 'lzma', 'bz2', 'zlib', 'hashlib', 'csv', 'uuid', 'zoneinfo', 'asyncio', 'xml.etree.ElementTree', 'email.mime.text', 'urllib.request', 'unicodedata', 'curses', 'readline', 'dbm']:\n    importlib.import_module(m)\nprint('all imported')\n"
	cfg := world.ImageConfig(t, img, "")
	res = mustRun(t, img, world.RunOpts{Entrypoint: []string{cfg.Config.Entrypoint[0], "-c", lazy}})
	requireContains(t, "lazy imports", res.Stdout, "all imported")
	res = mustRun(t, img, world.RunOpts{Entrypoint: []string{cfg.Config.Entrypoint[0], "-c", "import os, ssl; print(os.getuid(), os.getgid()); ssl.create_default_context(); print(open('/etc/passwd').read())"}})
	requireContains(t, "user and files", res.Stdout, "65532 65532", "nonroot:x:65532:65532")

	fl := files(t, img)
	if m, ok := fl["/tmp"]; !ok || m&fs.ModeSticky == 0 || m.Perm() != 0o777 {
		t.Errorf("/tmp mode = %v", m)
	}
	for _, want := range []string{"/etc/group", "/etc/ssl/certs/ca-certificates.crt"} {
		if _, ok := fl[want]; !ok {
			t.Errorf("%s missing", want)
		}
	}
	for p := range fl {
		if strings.Contains(p, "/site-packages/pip") || strings.Contains(p, "/dist-packages/pip") {
			t.Errorf("pip is in the scratch image: %s", p)
			break
		}
	}

	distroless, _ := mustBuild(t, w, example("python-basic"))
	ss, ds := imageSize(t, img), imageSize(t, distroless)
	if ss >= ds {
		t.Errorf("scratch image (%d bytes) is not smaller than distroless (%d bytes)", ss, ds)
	}
	t.Logf("basic example: scratch %d bytes, %d files; distroless %d bytes, %d files", ss, len(fl), ds, len(files(t, distroless)))
}

func TestScratchRequirementsBytecode(t *testing.T) {
	w := world.Load(t)
	img := buildSpec(t, w, example("python-requirements"), "scratch.yaml", "--opt", "build-arg:PIP_INDEX_URL="+w.PipIndex)
	res := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "&lt;script&gt;", "_speedups.cpython-313")
	fl := files(t, img)
	checkHardened(t, fl)
	checkOwners(t, world.Files(t, img, ""))
	if _, ok := fl["/app/main.pyc"]; !ok {
		t.Error("no /app/main.pyc")
	}
	for p := range fl {
		if strings.HasPrefix(p, "/app/") && strings.HasSuffix(p, ".py") {
			t.Errorf("source %s shipped with python.bytecode", p)
		}
	}
}

func TestShellKeepList(t *testing.T) {
	w := world.Load(t)
	img := buildSpec(t, w, example("python-shell"), "shabunble.yaml")
	res := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "health: curl ok", "state written to /app/data")

	requireContains(t, "sh", mustRun(t, img, world.RunOpts{Entrypoint: []string{"sh", "-c", "echo ok"}}).Stdout, "ok")
	requireContains(t, "curl", mustRun(t, img, world.RunOpts{Entrypoint: []string{"curl", "--version"}}).Stdout, "curl ")
	mustRun(t, img, world.RunOpts{Entrypoint: []string{"mkdir", "/tmp/made"}})
	requireNotRunnable(t, img, "ls", "cat", "find", "grep", "apt-get", "dpkg", "bash", "/bin/bash", "su", "pip", "pip3")
	// Not even through the kept shell.
	res, _ = world.RunImage(t, img, world.RunOpts{Entrypoint: []string{"sh", "-c", "ls /"}})
	requireContains(t, "ls through sh", res.Stderr, "not found")

	fl := files(t, img)
	for _, gone := range []string{"/var/lib/dpkg", "/var/lib/apt", "/etc/apt"} {
		if _, ok := fl[gone]; ok {
			t.Errorf("%s is still in the image", gone)
		}
	}
	checkHardened(t, fl)
	checkOwners(t, world.Files(t, img, ""))
	if m := fl["/app/data"]; !m.IsDir() {
		t.Errorf("/app/data is %v", m)
	}
	cfg := world.ImageConfig(t, img, "")
	requireContains(t, "history", historyText(cfg), "keep sh (the app runs its health check script with it), curl (health check), mkdir")
}

func TestShellKeepMissingProgram(t *testing.T) {
	w := world.Load(t)
	dir := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [main.py]\ndeploy: shell\nkeep: [sh, nosuchtool]\n",
		"main.py":        "print('hi')\n",
	})
	_, out, err := build(t, w, dir)
	if err == nil {
		t.Fatal("keeping a program the base lacks built")
	}
	requireContains(t, "buildctl output", out, `shabunble.yaml:5:12: "nosuchtool" is not in docker.io/library/debian:trixie-slim`)
}

// checkHardened asserts no setuid/setgid file, and that the app is not
// writable but for its writable folder.
func checkHardened(t *testing.T, fl map[string]fs.FileMode) {
	t.Helper()
	for p, m := range fl {
		if m&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			t.Errorf("%s is setuid/setgid (%v)", p, m)
		}
		if strings.HasPrefix(p, "/app/") && !strings.HasPrefix(p, "/app/data") && m&0o022 != 0 {
			t.Errorf("%s is group/other-writable (%v)", p, m)
		}
	}
}

// checkOwners asserts that the app and its environment are root's, but for
// the writable folder, which is the runtime user's.
func checkOwners(t *testing.T, fl map[string]world.File) {
	t.Helper()
	for p, f := range fl {
		inApp := strings.HasPrefix(p, "/app") || strings.HasPrefix(p, "/opt/shabunble")
		writable := p == "/app/data" || strings.HasPrefix(p, "/app/data/")
		switch {
		case writable && (f.UID != 65532 || f.GID != 65532):
			t.Errorf("%s is owned by %d:%d, want 65532:65532", p, f.UID, f.GID)
		case inApp && !writable && f.UID != 0:
			t.Errorf("%s is owned by %d:%d, want root", p, f.UID, f.GID)
		}
	}
}

// TestSetuidRemoved gives the deploy stage a base with setuid and setgid
// programs, through --build-context: distroless mode leaves them out, and
// shell mode keeps a kept one without its bits.
func TestSetuidRemoved(t *testing.T) {
	w := world.Load(t)
	base := w.Registry + "/test/suid-base:1"
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM gcr.io/distroless/python3-debian13 AS distroless\n" +
			"COPY --chmod=4755 tool /usr/bin/suidtool\nCOPY --chmod=2755 tool /usr/lib/sgidtool\n" +
			"FROM docker.io/library/debian:trixie-slim AS shell\n" +
			"COPY --chmod=4755 tool /usr/bin/suidtool\nCOPY --chmod=2755 tool /usr/lib/sgidtool\n",
		"tool": "#!/bin/sh\necho tool\n",
	})
	for _, target := range []string{"distroless", "shell"} {
		if _, stderr, err := w.Buildctl(t, "build", "--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
			"--opt", "target="+target, "--output", "type=image,name="+base+"-"+target+",push=true,registry.insecure=true"); err != nil {
			t.Fatalf("setuid base: %v\n%s", err, stderr)
		}
	}

	img, _ := mustBuild(t, w, example("python-basic"),
		"--opt", "context:gcr.io/distroless/python3-debian13=docker-image://"+base+"-distroless")
	fl := files(t, img)
	for _, p := range []string{"/usr/bin/suidtool", "/usr/lib/sgidtool"} {
		if _, ok := fl[p]; ok {
			t.Errorf("distroless: %s is still in the image", p)
		}
	}
	mustRun(t, img, world.RunOpts{})

	shellDir := writeFiles(t, map[string]string{
		"shabunble.yaml": "# syntax=" + frontendImage + "\nlanguage: python\nentrypoint: [main.py]\ndeploy: shell\nkeep: [sh, suidtool]\nbase: {deploy: " + base + "-shell}\n",
		"main.py":        "print('hi')\n",
	})
	img, _ = mustBuild(t, w, shellDir)
	fl = files(t, img)
	if m, ok := fl["/usr/bin/suidtool"]; !ok || m&fs.ModeSetuid != 0 || m.Perm() != 0o755 {
		t.Errorf("shell: kept suidtool mode = %v (present %v), want 0755 without setuid", m, ok)
	}
	if _, ok := fl["/usr/lib/sgidtool"]; ok {
		t.Error("shell: the setgid file that was not kept is in the image")
	}
	requireContains(t, "kept tool", mustRun(t, img, world.RunOpts{Entrypoint: []string{"suidtool"}}).Stdout, "tool")
	checkHardened(t, fl)
}

// historyText is the image history's CreatedBy lines.
func historyText(cfg v1.ConfigFile) string {
	var lines []string
	for _, h := range cfg.History {
		lines = append(lines, h.CreatedBy)
	}
	return strings.Join(lines, "\n")
}
