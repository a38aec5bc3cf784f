package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildkitdConfig renders buildkitd.toml: our runc, overlayfs, and the
// world registry as the mirror of docker.io, gcr.io and ghcr.io.
//
// Networking: there is no CNI config on the host, so the OCI worker uses
// host networking (worker label org.mobyproject.buildkit.worker.network=host)
// and RUN steps reach the pip index on the host's 127.0.0.1.
func buildkitdConfig(t *tools, registry string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by integration/testworld. Do not edit.\n")
	fmt.Fprintf(&b, "[worker.oci]\n  enabled = true\n  binary = %q\n  snapshotter = \"overlayfs\"\n  gc = true\n  gckeepstorage = \"20GB\"\n\n", t.runc)
	fmt.Fprintf(&b, "[worker.containerd]\n  enabled = false\n\n")
	for _, upstream := range []string{"docker.io", "gcr.io", "ghcr.io"} {
		fmt.Fprintf(&b, "[registry.%q]\n  mirrors = [%q]\n\n", upstream, registry)
	}
	fmt.Fprintf(&b, "[registry.%q]\n  http = true\n  insecure = true\n", registry)
	return b.String()
}

// ensureBuildkitd starts buildkitd, or keeps it if it runs with the same
// binaries and config.
func ensureBuildkitd(p *paths, t *tools, st *state, registry string) error {
	cfg := buildkitdConfig(t, registry)
	cfgFile := filepath.Join(p.world, "buildkitd.toml")
	pidFile := filepath.Join(p.world, "buildkitd.pid")
	sock := p.socket()
	key := shortHash(cfg, t.buildkitd, sock)
	if pid := livePid(pidFile, "buildkitd"); pid != 0 && st.BuildkitdCfg == key && workersOK(t, sock) == nil {
		logf("buildkitd: already running (pid %d, %s)", pid, sock)
		return nil
	}
	defer step("start buildkitd")()
	if err := stopPid(pidFile, "buildkitd"); err != nil {
		return err
	}
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return err
	}
	_ = os.Remove(sock)
	stateDir := filepath.Join(p.world, "buildkitd")
	// buildkitd only enables the OCI worker if "runc" is on PATH.
	env := []string{"PATH=" + t.dir + ":" + os.Getenv("PATH")}
	logFile := filepath.Join(p.world, "buildkitd.log")
	if _, err := startDetached(pidFile, logFile, env, t.buildkitd,
		"--root", stateDir, "--addr", "unix://"+sock, "--config", cfgFile); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = workersOK(t, sock); err == nil {
			st.BuildkitdCfg = key
			logf("buildkitd: pid %s, %s, log %s", strings.TrimSpace(readFile(pidFile)), sock, logFile)
			return nil
		}
		if livePid(pidFile, "buildkitd") == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("buildkitd did not come up (%v); log tail:\n%s", err, tail(readFile(logFile), 3000))
}

func readFile(f string) string {
	b, _ := os.ReadFile(f)
	return string(b)
}

// workersOK checks that buildkitd answers and has an OCI worker.
func workersOK(t *tools, sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, t.buildctl, "--addr", "unix://"+sock, "debug", "workers").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "linux/amd64") {
		return fmt.Errorf("no linux/amd64 worker: %s", out)
	}
	return nil
}

// buildFrontend builds the static frontend binary and pushes the frontend
// image (the repo's Dockerfile) to the world registry as
// shabunble/shabunble:1, i.e. ghcr.io/shabunble/shabunble:1 via the mirror.
func buildFrontend(ctx context.Context, p *paths, env map[string]string) error {
	defer step("frontend image")()
	done := step("go build ./cmd/shabunble-frontend")
	if err := run(p.repo, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-trimpath",
		"-o", "bin/linux_amd64/shabunble-frontend", "./cmd/shabunble-frontend"); err != nil {
		return err
	}
	done()
	ref := env["SHABUNBLE_REGISTRY"] + "/shabunble/shabunble:1"
	// The build context is only bin/ (a copy): the checkout holds .world/
	// with buildkitd's state, which must not be sent as context, and the
	// repo has no .dockerignore.
	ctxDir, err := os.MkdirTemp("", "shabunble-frontend-ctx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	bin := filepath.Join(ctxDir, "bin", "linux_amd64", "shabunble-frontend")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(p.repo, "bin", "linux_amd64", "shabunble-frontend"), bin, 0o755); err != nil {
		return err
	}
	done = step("buildctl build -> " + ref)
	err = run(p.repo, []string{"BUILDKIT_HOST=" + env["BUILDKIT_HOST"]}, env["SHABUNBLE_BUILDCTL"], "build",
		"--progress", "plain",
		"--frontend", "dockerfile.v0", "--local", "context="+ctxDir, "--local", "dockerfile=.",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true")
	if err != nil {
		return err
	}
	done()
	return nil
}
