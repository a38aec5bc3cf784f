package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// buildxVersion is the docker buildx that `up` builds, to prove that
// `docker buildx build -f shabunble.yaml .` works.
const buildxVersion = "v0.38.2"

// builderName is the buildx builder up creates (world.BuildxBuilder).
const builderName = "shabunble-world"

// ensureBuildx builds buildx from the Go module proxy into a cache dir keyed
// by its version and the Go version, or reuses it, and returns its path.
func ensureBuildx(p *paths) (string, error) {
	key := shortHash("buildx "+buildxVersion, runtime.Version(), runtime.GOARCH)
	dir := filepath.Join(p.cache, "bin", "buildx-"+key)
	bin := filepath.Join(dir, "buildx")
	if exists(bin) {
		logf("buildx: reusing %s (%s)", bin, buildxVersion)
		return bin, nil
	}
	defer step(fmt.Sprintf("build buildx %s into %s", buildxVersion, dir))()
	tmp, err := os.MkdirTemp(p.cache, "bin-tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := run(tmp, []string{"GOBIN=" + tmp, "GOFLAGS=", "CGO_ENABLED=0"}, "go", "install", "-trimpath",
		"-ldflags", "-X github.com/docker/buildx/version.Version="+buildxVersion,
		"github.com/docker/buildx/cmd/buildx@"+buildxVersion); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return bin, os.Chmod(dir, 0o755)
}

// ensureBuilder installs buildx as a docker CLI plugin in the world's own
// docker config dir (.world/docker, exported as DOCKER_CONFIG; nothing in
// ~/.docker is touched) and creates the builder there: the remote driver
// on the world's buildkitd, made the current builder. Idempotent: a
// builder with the right endpoint is kept, any other is replaced.
func ensureBuilder(p *paths, buildx string) (dockerConfig string, err error) {
	dockerConfig = filepath.Join(p.world, "docker")
	plugins := filepath.Join(dockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return "", err
	}
	link := filepath.Join(plugins, "docker-buildx")
	if cur, err := os.Readlink(link); err != nil || cur != buildx {
		_ = os.Remove(link)
		if err := os.Symlink(buildx, link); err != nil {
			return "", err
		}
	}
	env := []string{"DOCKER_CONFIG=" + dockerConfig}
	endpoint := "unix://" + p.socket()
	cmd := func(args ...string) (string, error) {
		var buf tailBuffer
		c := exec.Command(buildx, args...)
		c.Env = append(os.Environ(), env...)
		c.Stdout, c.Stderr = &buf, &buf
		err := c.Run()
		return buf.String(), err
	}
	if out, err := cmd("inspect", builderName); err == nil && strings.Contains(out, "Endpoint:") &&
		strings.Contains(out, endpoint) && strings.Contains(out, "running") {
		logf("buildx: builder %s ready (remote, %s)", builderName, endpoint)
		return dockerConfig, nil
	}
	defer step(fmt.Sprintf("buildx create --name %s --driver remote %s", builderName, endpoint))()
	_, _ = cmd("rm", "--force", builderName)
	if out, err := cmd("create", "--name", builderName, "--driver", "remote", "--use", endpoint); err != nil {
		return "", fmt.Errorf("buildx create: %v\n%s", err, out)
	}
	if out, err := cmd("inspect", "--bootstrap", builderName); err != nil || !strings.Contains(out, "running") {
		return "", fmt.Errorf("buildx inspect --bootstrap %s: %v\n%s", builderName, err, out)
	}
	return dockerConfig, nil
}
