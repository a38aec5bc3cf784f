package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// paths knows where the world lives: per-checkout state in <repo>/.world,
// shared, input-keyed caches in ${XDG_CACHE_HOME:-$HOME/.cache}/shabunble.
type paths struct {
	repo  string // repository root (dir of go.mod)
	world string // <repo>/.world
	cache string // shared cache dir, outside the checkout
}

func newPaths() (*paths, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	dir := wd
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("no go.mod above %s", wd)
		}
		dir = parent
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		cache = filepath.Join(home, ".cache")
	}
	p := &paths{repo: dir, world: filepath.Join(dir, ".world"), cache: filepath.Join(cache, "shabunble")}
	for _, d := range []string{p.world, p.cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *paths) envFile() string { return filepath.Join(p.world, "env") }

// socket returns the buildkitd socket path. Unix socket paths are limited
// to ~108 bytes, so a deep checkout falls back to a short path in /run.
func (p *paths) socket() string {
	s := filepath.Join(p.world, "buildkitd.sock")
	if len(s) < 100 {
		return s
	}
	return filepath.Join("/run/shabunble-"+shortHash(p.world), "buildkitd.sock")
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// run runs a command, streaming its output to stderr, and fails with its
// last output lines on error.
func run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var buf tailBuffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, buf.String())
	}
	return nil
}

// output runs a command and returns its stdout.
func output(dir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = t.b[len(t.b)-8192:]
	}
	return len(p), nil
}
func (t *tailBuffer) String() string { return string(t.b) }

// startDetached starts a long-running process in its own session, logging
// to logFile, and records its pid in pidFile.
func startDetached(pidFile, logFile string, env []string, name string, args ...string) (int, error) {
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "---- %s: %s %s\n", time.Now().Format(time.RFC3339), name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// livePid returns the pid in pidFile if that process is alive and its
// command line contains want (guards against recycled pids).
func livePid(pidFile, want string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), want) {
		return 0
	}
	// A zombie is not alive.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			return 0
		}
	}
	return pid
}

// stopPid stops the process recorded in pidFile (SIGTERM, then SIGKILL).
func stopPid(pidFile, want string) error {
	pid := livePid(pidFile, want)
	if pid == 0 {
		_ = os.Remove(pidFile)
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if livePid(pidFile, want) == 0 {
			return os.Remove(pidFile)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(200 * time.Millisecond)
	return os.Remove(pidFile)
}

// writeEnv writes a sorted, shell-sourceable KEY=VALUE file. Values are
// written unquoted, so they must not contain spaces or shell syntax.
func writeEnv(file string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k, v := range env {
		if strings.ContainsAny(v, " \t\n'\"$`\\") {
			return fmt.Errorf("env value for %s is not shell-safe: %q", k, v)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by `go run ./integration/testworld up`. Source with: set -a; . .world/env; set +a\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

var errNotReady = errors.New("not ready")
