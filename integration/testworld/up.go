package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// state is what up remembers between runs in .world/state.json.
type state struct {
	RegistryPort int    `json:"registry_port"`
	PipPort      int    `json:"pip_port"`
	ServeArgs    string `json:"serve_args"`
	BuildkitdCfg string `json:"buildkitd_cfg"`
}

func loadState(p *paths) state {
	var s state
	b, err := os.ReadFile(filepath.Join(p.world, "state.json"))
	if err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

func (s state) save(p *paths) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(filepath.Join(p.world, "state.json"), b, 0o644)
}

func runUp(ctx context.Context, withFrontend bool) error {
	defer step("testworld up")()
	p, err := newPaths()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("testworld up must run as root (buildkitd, runc, dpkg-deb ownership)")
	}
	unlock, err := lockWorld(p)
	if err != nil {
		return err
	}
	defer unlock()
	if err := ensureHostPackages(); err != nil {
		return err
	}
	t, err := ensureTools(p)
	if err != nil {
		return err
	}
	buildx, err := ensureBuildx(p)
	if err != nil {
		return err
	}
	roots := map[string]*aptRoot{}
	for _, arch := range archs {
		a, err := newAptRoot(p, arch)
		if err != nil {
			return err
		}
		if err := a.update(24 * time.Hour); err != nil {
			return err
		}
		roots[arch] = a
	}
	wheels, err := ensureWheels(p, roots)
	if err != nil {
		return err
	}
	busybox, err := ensureBusybox(p, roots["amd64"])
	if err != nil {
		return err
	}
	st := loadState(p)
	pwFile := filepath.Join(p.world, "pip-password")
	if !exists(pwFile) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		if err := os.WriteFile(pwFile, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return err
		}
	}
	pwb, err := os.ReadFile(pwFile)
	if err != nil {
		return err
	}
	password := strings.TrimSpace(string(pwb))

	if err := ensureServer(p, &st, wheels, pwFile); err != nil {
		return err
	}
	if err := st.save(p); err != nil {
		return err
	}
	registry := fmt.Sprintf("127.0.0.1:%d", st.RegistryPort)
	pipBase := fmt.Sprintf("http://127.0.0.1:%d", st.PipPort)

	for _, r := range recipes {
		bi, err := ensureImage(p, roots, r)
		if err != nil {
			return err
		}
		done := step("push " + registry + "/" + r.ref())
		if err := bi.push(registry); err != nil {
			return err
		}
		done()
		for _, arch := range archs {
			logf("  %s %s: layer %.1f MiB compressed", r.ref(), arch, float64(bi.sizes[arch])/(1<<20))
		}
	}

	if err := ensureBuildkitd(p, t, &st, registry); err != nil {
		return err
	}
	dockerConfig, err := ensureBuilder(p, buildx)
	if err != nil {
		return err
	}
	if err := st.save(p); err != nil {
		return err
	}
	env := map[string]string{
		"BUILDKIT_HOST":                  "unix://" + p.socket(),
		"SHABUNBLE_BUILDCTL":             t.buildctl,
		"SHABUNBLE_BUILDKITD":            t.buildkitd,
		"SHABUNBLE_RUNC":                 t.runc,
		"SHABUNBLE_REGISTRY":             registry,
		"SHABUNBLE_PIP_INDEX":            pipBase + "/simple/",
		"SHABUNBLE_PIP_PRIVATE_INDEX":    pipBase + "/private/simple/",
		"SHABUNBLE_PIP_PRIVATE_USER":     pipUser,
		"SHABUNBLE_PIP_PRIVATE_PASSWORD": password,
		"SHABUNBLE_WORLD":                p.world,
		"SHABUNBLE_FRONTEND_IMAGE":       "ghcr.io/shabunble/shabunble:1",
		"SHABUNBLE_BUILDX":               buildx,
		"DOCKER_CONFIG":                  dockerConfig,
		"SHABUNBLE_BUSYBOX":              busybox,
	}
	if err := writeEnv(p.envFile(), env); err != nil {
		return err
	}
	logf("wrote %s", p.envFile())
	if withFrontend {
		if err := buildFrontend(ctx, p, env); err != nil {
			return err
		}
	}
	return nil
}

func freePort(prefer int) (int, error) {
	if prefer > 0 {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(prefer)); err == nil {
			l.Close()
			return prefer, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func httpOK(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ensureServer starts (or keeps) the detached registry + pip index server.
func ensureServer(p *paths, st *state, wheels, pwFile string) error {
	pidFile := filepath.Join(p.world, "serve.pid")
	blobs := filepath.Join(p.cache, "registry-blobs")
	argsKey := strings.Join([]string{blobs, wheels, pwFile}, "|")
	if pid := livePid(pidFile, "serve"); pid != 0 && st.ServeArgs == argsKey &&
		httpOK(fmt.Sprintf("http://127.0.0.1:%d/v2/", st.RegistryPort)) &&
		httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz", st.PipPort)) {
		logf("server: already running (pid %d, registry :%d, pip :%d)", pid, st.RegistryPort, st.PipPort)
		return nil
	}
	defer step("start registry + pip index server")()
	if err := stopPid(pidFile, "serve"); err != nil {
		return err
	}
	var err error
	if st.RegistryPort, err = freePort(st.RegistryPort); err != nil {
		return err
	}
	if st.PipPort, err = freePort(st.PipPort); err != nil {
		return err
	}
	if st.PipPort == st.RegistryPort {
		if st.PipPort, err = freePort(0); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// Copy ourselves out of `go run`'s temporary build dir, which is
	// deleted when up exits.
	bin := filepath.Join(p.world, "testworld-serve")
	if err := copyFile(self, bin, 0o755); err != nil {
		return err
	}
	pid, err := startDetached(pidFile, filepath.Join(p.world, "serve.log"), nil, bin, "serve",
		"--registry", fmt.Sprintf("127.0.0.1:%d", st.RegistryPort),
		"--pip", fmt.Sprintf("127.0.0.1:%d", st.PipPort),
		"--blobs", blobs, "--wheels", wheels, "--password-file", pwFile)
	if err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if httpOK(fmt.Sprintf("http://127.0.0.1:%d/v2/", st.RegistryPort)) && httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz", st.PipPort)) {
			st.ServeArgs = argsKey
			logf("server: pid %d, registry :%d, pip :%d", pid, st.RegistryPort, st.PipPort)
			return nil
		}
		if livePid(pidFile, "serve") == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(p.world, "serve.log"))
	return fmt.Errorf("server did not come up; serve.log:\n%s", tail(string(log), 3000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func runDown() error {
	p, err := newPaths()
	if err != nil {
		return err
	}
	done := step("stop buildkitd")
	if err := stopPid(filepath.Join(p.world, "buildkitd.pid"), "buildkitd"); err != nil {
		return err
	}
	done()
	done = step("stop registry + pip index server")
	if err := stopPid(filepath.Join(p.world, "serve.pid"), "serve"); err != nil {
		return err
	}
	done()
	return nil
}

// lockWorld serializes `up` runs on one checkout and, since they write
// the same cache entries, across checkouts: flocks on .world/lock and on
// the cache dir's lock.
func lockWorld(p *paths) (func(), error) {
	var files []*os.File
	unlock := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, name := range []string{filepath.Join(p.world, "lock"), filepath.Join(p.cache, "lock")} {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			unlock()
			return nil, err
		}
		files = append(files, f)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			logf("waiting for another testworld up (%s) ...", name)
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				unlock()
				return nil, err
			}
		}
	}
	return unlock, nil
}
