package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shabunble/shabunble/integration/world"
)

// TestBasicExample builds the guide's basic example through `# syntax=`,
// runs it, and checks that it is unenterable.
func TestBasicExample(t *testing.T) {
	w := world.Load(t)
	img, _ := mustBuild(t, w, example("python-basic"))

	t.Run("runs", func(t *testing.T) {
		res := mustRun(t, img, world.RunOpts{})
		requireCountdown(t, res.Stdout)
	})

	t.Run("no shell or tools", func(t *testing.T) {
		for _, prog := range []string{"/bin/sh", "sh", "ls", "cat", "bash", "/usr/bin/env"} {
			res, err := world.RunImage(t, img, world.RunOpts{Entrypoint: []string{prog}})
			out := res.Stdout + res.Stderr
			if err == nil && res.ExitCode == 0 {
				t.Errorf("%s ran in the image:\n%s", prog, out)
				continue
			}
			if !strings.Contains(out, "not found") && !strings.Contains(out, "no such file or directory") {
				t.Errorf("%s: want a not-found error, got %v:\n%s", prog, err, out)
			}
		}
	})

	t.Run("non-root", func(t *testing.T) {
		cfg := world.ImageConfig(t, img, "")
		if cfg.Config.User != "65532:65532" {
			t.Errorf("config user = %q, want 65532:65532", cfg.Config.User)
		}
		res, err := world.RunImage(t, img, world.RunOpts{
			Entrypoint: []string{"/usr/bin/python3.13", "-c", "import os; print(os.getuid(), os.getgid(), os.getgroups())"},
		})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run failed: %v\n%s", err, res.Stderr)
		}
		requireContains(t, "uid/gid", res.Stdout, "65532 65532")
	})

	t.Run("config", func(t *testing.T) {
		cfg := world.ImageConfig(t, img, "")
		want := []string{"/usr/bin/python3.13", "/app/boom.py", "--loops", "3", "--delay", "0.2"}
		if strings.Join(cfg.Config.Entrypoint, " ") != strings.Join(want, " ") {
			t.Errorf("entrypoint = %q, want %q", cfg.Config.Entrypoint, want)
		}
		if len(cfg.Config.Cmd) != 0 {
			t.Errorf("cmd = %q, want none", cfg.Config.Cmd)
		}
		if cfg.Config.WorkingDir != "/app" {
			t.Errorf("workdir = %q", cfg.Config.WorkingDir)
		}
		requireContains(t, "env", strings.Join(cfg.Config.Env, "\n"), "GREETING=hello", "PATH=")
		var ours int
		for _, h := range cfg.History {
			if h.Comment == "shabunble" {
				ours++
			}
		}
		if ours == 0 {
			t.Errorf("no shabunble steps in the image history: %+v", cfg.History)
		}
	})
}

// TestMountInjection replays the guide's attack: a folder with a Python
// shell is mounted and its script passed as the command. With the
// entrypoint whole, the app just gets one more argument. The same attack on
// the guide's own CMD-style image does run the script, which shows that
// the check can fail.
func TestMountInjection(t *testing.T) {
	w := world.Load(t)
	inj := writeFiles(t, map[string]string{"python_shell.py": "print('INJECTED SHELL RUNNING')\n"})
	attack := world.RunOpts{Cmd: []string{"/injection/python_shell.py"}, Mounts: map[string]string{inj: "/injection"}}

	img, _ := mustBuild(t, w, example("python-basic"))
	res, err := world.RunImage(t, img, attack)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run failed: %v\n%s", err, res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, "INJECTED") {
		t.Fatalf("the injected script ran:\n%s", res.Stdout)
	}
	requireContains(t, "stderr", res.Stderr, "ignoring extra arguments ['/injection/python_shell.py']")
	requireContains(t, "stdout", res.Stdout, "B O O M !")

	guide := writeFiles(t, map[string]string{
		"Dockerfile": "FROM gcr.io/distroless/python3-debian13\nCOPY app /app\nWORKDIR /app\nCMD [\"boom.py\", \"--loops\", \"1\", \"--delay\", \"0\"]\n",
	})
	copyDir(t, filepath.Join(example("python-basic"), "app"), filepath.Join(guide, "app"))
	naive := filepath.Join(t.TempDir(), "naive.tar")
	if _, stderr, err := w.Buildctl(t, "build", "--frontend", "dockerfile.v0", "--local", "context="+guide,
		"--local", "dockerfile="+guide, "--output", "type=oci,dest="+naive); err != nil {
		t.Fatalf("guide image build: %v\n%s", err, stderr)
	}
	res, _ = world.RunImage(t, naive, attack)
	requireContains(t, "the guide's CMD image under attack", res.Stdout, "INJECTED SHELL RUNNING")
}

func TestRequirementsExample(t *testing.T) {
	w := world.Load(t)
	img, _ := mustBuild(t, w, example("python-requirements"), "--opt", "build-arg:PIP_INDEX_URL="+w.PipIndex)
	res := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "&lt;script&gt;", "_speedups.cpython-313", "/opt/shabunble/site-packages/markupsafe/")
	cfg := world.ImageConfig(t, img, "")
	for _, e := range cfg.Config.Env {
		if strings.HasPrefix(e, "PIP_") {
			t.Errorf("build arg leaked into the image config: %s", e)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, dt, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}
