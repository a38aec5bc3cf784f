package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// runcVersion is the runc BuildKit v0.34.2 pins.
const runcVersion = "v1.5.2"

// hostPackages are the Debian packages the world needs on the host.
var hostPackages = []string{"libseccomp-dev", "pkg-config", "dpkg", "tar", "gzip", "apt", "ca-certificates"}

// ensureHostPackages apt-installs the missing host packages.
func ensureHostPackages() error {
	var missing []string
	for _, pkg := range hostPackages {
		out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", pkg).Output()
		if err != nil || strings.TrimSpace(string(out)) != "installed" {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	defer step("apt-get install " + strings.Join(missing, " "))()
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if err := run("", env, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	return run("", env, "apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)...)
}

// buildkitVersion reads the pinned moby/buildkit version from go.mod.
func buildkitVersion(p *paths) (string, error) {
	b, err := os.ReadFile(filepath.Join(p.repo, "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/moby/buildkit\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("github.com/moby/buildkit not found in go.mod")
	}
	return string(m[1]), nil
}

// tools are the built binaries.
type tools struct{ buildkitd, buildctl, runc, dir string }

// ensureTools builds buildkitd, buildctl and a seccomp-enabled runc into a
// cache dir keyed by their versions and the Go version, or reuses it.
func ensureTools(p *paths) (*tools, error) {
	bkv, err := buildkitVersion(p)
	if err != nil {
		return nil, err
	}
	key := shortHash("buildkit "+bkv, "runc "+runcVersion+" seccomp", runtime.Version(), runtime.GOARCH)
	dir := filepath.Join(p.cache, "bin", key)
	t := &tools{buildkitd: filepath.Join(dir, "buildkitd"), buildctl: filepath.Join(dir, "buildctl"), runc: filepath.Join(dir, "runc"), dir: dir}
	if exists(t.buildkitd) && exists(t.buildctl) && exists(t.runc) {
		logf("tools: reusing %s (buildkit %s, runc %s)", dir, bkv, runcVersion)
		return t, nil
	}
	defer step(fmt.Sprintf("build buildkitd+buildctl %s and runc %s (seccomp) into %s", bkv, runcVersion, dir))()
	tmp, err := os.MkdirTemp(filepath.Join(p.cache), "bin-tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// buildkit: from this module, so the version is exactly go.mod's.
	if err := run(p.repo, nil, "go", "build", "-trimpath", "-o", tmp+"/",
		"github.com/moby/buildkit/cmd/buildkitd", "github.com/moby/buildkit/cmd/buildctl"); err != nil {
		return nil, err
	}
	// runc needs cgo and libseccomp for the seccomp tag.
	if err := run(tmp, []string{"GOBIN=" + tmp, "GOFLAGS=", "CGO_ENABLED=1"}, "go", "install", "-trimpath", "-tags", "seccomp",
		"github.com/opencontainers/runc@"+runcVersion); err != nil {
		return nil, err
	}
	out, err := output("", filepath.Join(tmp, "runc"), "--version")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(out, "libseccomp:") {
		return nil, fmt.Errorf("runc built without seccomp:\n%s", out)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	return t, nil
}
