// Package world gives integration tests access to the offline test world
// prepared by `make world` (go run ./integration/testworld up): a BuildKit
// daemon, a registry mirroring docker.io, gcr.io and ghcr.io, a pip index,
// and helpers to run built images with runc. See README.md.
package world

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// World describes a running test world; the fields mirror .world/env.
type World struct {
	BuildkitHost       string // BUILDKIT_HOST, unix:///.../buildkitd.sock
	BuildctlBin        string // SHABUNBLE_BUILDCTL, path of buildctl
	BuildkitdBin       string // SHABUNBLE_BUILDKITD, path of buildkitd
	RuncBin            string // SHABUNBLE_RUNC, path of the seccomp-enabled runc
	Registry           string // SHABUNBLE_REGISTRY, 127.0.0.1:PORT
	PipIndex           string // SHABUNBLE_PIP_INDEX, http://127.0.0.1:PORT/simple/
	PipPrivateIndex    string // SHABUNBLE_PIP_PRIVATE_INDEX, same index behind basic auth
	PipPrivateUser     string // SHABUNBLE_PIP_PRIVATE_USER
	PipPrivatePassword string // SHABUNBLE_PIP_PRIVATE_PASSWORD
	Dir                string // SHABUNBLE_WORLD, the .world directory
	FrontendImage      string // SHABUNBLE_FRONTEND_IMAGE, ghcr.io/shabunble/shabunble:1
	BuildxBin          string // SHABUNBLE_BUILDX, path of the buildx binary (also a docker CLI plugin in DockerConfig)
	DockerConfig       string // DOCKER_CONFIG, the world's docker config dir: cli-plugins/docker-buildx and the BuildxBuilder builder
	Busybox            string // SHABUNBLE_BUSYBOX, path of Debian trixie's static busybox (amd64), from busybox-static
	env                map[string]string
}

// BuildxBuilder is the name of the buildx builder (remote driver) that
// `make world` creates in DockerConfig, pointed at the world's buildkitd.
const BuildxBuilder = "shabunble-world"

// Keys lists the env keys of a world, in .world/env.
var Keys = []string{
	"BUILDKIT_HOST", "SHABUNBLE_BUILDCTL", "SHABUNBLE_BUILDKITD", "SHABUNBLE_RUNC",
	"SHABUNBLE_REGISTRY", "SHABUNBLE_PIP_INDEX", "SHABUNBLE_PIP_PRIVATE_INDEX",
	"SHABUNBLE_PIP_PRIVATE_USER", "SHABUNBLE_PIP_PRIVATE_PASSWORD", "SHABUNBLE_WORLD",
	"SHABUNBLE_FRONTEND_IMAGE", "SHABUNBLE_BUILDX", "DOCKER_CONFIG", "SHABUNBLE_BUSYBOX",
}

// Load returns the world, from the exported env vars if SHABUNBLE_WORLD and
// BUILDKIT_HOST are set, else from <repo>/.world/env. It fails the test
// with instructions if the world is not ready.
func Load(t testing.TB) *World {
	t.Helper()
	w, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Open is Load for code that is not a test (such as `testworld run`): it
// returns an error, with the same instructions, if the world is not ready.
func Open() (*World, error) {
	env := map[string]string{}
	if os.Getenv("SHABUNBLE_WORLD") != "" && os.Getenv("BUILDKIT_HOST") != "" {
		for _, k := range Keys {
			env[k] = os.Getenv(k)
		}
	} else {
		file, err := envFile()
		if err == nil {
			env, err = ReadEnv(file)
		}
		if err != nil {
			return nil, fmt.Errorf("test world not ready (%v): run `make world` in the repo root", err)
		}
	}
	w := &World{
		BuildkitHost: env["BUILDKIT_HOST"], BuildctlBin: env["SHABUNBLE_BUILDCTL"], BuildkitdBin: env["SHABUNBLE_BUILDKITD"],
		RuncBin: env["SHABUNBLE_RUNC"], Registry: env["SHABUNBLE_REGISTRY"], PipIndex: env["SHABUNBLE_PIP_INDEX"],
		PipPrivateIndex: env["SHABUNBLE_PIP_PRIVATE_INDEX"], PipPrivateUser: env["SHABUNBLE_PIP_PRIVATE_USER"],
		PipPrivatePassword: env["SHABUNBLE_PIP_PRIVATE_PASSWORD"], Dir: env["SHABUNBLE_WORLD"],
		FrontendImage: env["SHABUNBLE_FRONTEND_IMAGE"], BuildxBin: env["SHABUNBLE_BUILDX"],
		DockerConfig: env["DOCKER_CONFIG"], Busybox: env["SHABUNBLE_BUSYBOX"], env: env,
	}
	for _, k := range []string{"BUILDKIT_HOST", "SHABUNBLE_BUILDCTL", "SHABUNBLE_RUNC", "SHABUNBLE_REGISTRY", "SHABUNBLE_WORLD"} {
		if env[k] == "" {
			return nil, fmt.Errorf("test world env lacks %s: run `make world`", k)
		}
	}
	if sock := strings.TrimPrefix(w.BuildkitHost, "unix://"); sock != w.BuildkitHost {
		if _, err := os.Stat(sock); err != nil {
			return nil, fmt.Errorf("buildkitd is not running (%v): run `make world`", err)
		}
	}
	return w, nil
}

func envFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".world", "env"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// ReadEnv parses a KEY=VALUE file such as .world/env; blank lines and
// # comments are skipped.
func ReadEnv(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// Env returns the world's variables as KEY=VALUE, for exec.Cmd.Env.
func (w *World) Env() []string {
	var out []string
	for _, k := range Keys {
		if v, ok := w.env[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Buildctl runs buildctl with BUILDKIT_HOST set and returns its output.
func (w *World) Buildctl(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(w.BuildctlBin, args...)
	cmd.Env = append(os.Environ(), "BUILDKIT_HOST="+w.BuildkitHost)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("buildctl %s: %w", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), err
}

// Buildx runs the world's buildx binary with DOCKER_CONFIG set to the
// world's docker config (where the BuildxBuilder builder lives) and returns
// its output. It fails the test if the world has no buildx.
func (w *World) Buildx(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if w.BuildxBin == "" || w.DockerConfig == "" {
		t.Fatal("test world env lacks SHABUNBLE_BUILDX or DOCKER_CONFIG: run `make world`")
	}
	cmd := exec.Command(w.BuildxBin, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+w.DockerConfig)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("buildx %s: %w", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), err
}

// RunOpts tunes RunImage. Zero values mean "as the image says".
type RunOpts struct {
	Platform   string            // e.g. "linux/amd64" (default)
	Args       []string          // full argv; overrides Entrypoint and Cmd
	Entrypoint []string          // replaces the image Entrypoint (and drops the image Cmd, like docker)
	Cmd        []string          // replaces the image Cmd
	Env        []string          // KEY=VALUE added to (or overriding) the image Env
	User       string            // overrides the image User ("uid[:gid]" or a name)
	WorkingDir string            // overrides the image WorkingDir
	Mounts     map[string]string // host path -> container path, bind-mounted read-only
	Stdin      io.Reader
	Stdout     io.Writer     // if set, the container's stdout is also copied here as it comes
	Stderr     io.Writer     // if set, the container's stderr is also copied here as it comes
	Timeout    time.Duration // default 60s
}

// RunResult is the outcome of RunImage.
type RunResult struct {
	Stdout, Stderr string
	ExitCode       int
	Args           []string // the argv that was run
}

// ImageConfig returns the config of the platform's image in an OCI layout
// tar (as written by `buildctl build --output type=oci,dest=x.tar`).
// Platform "" means linux/amd64.
func ImageConfig(t testing.TB, ociTar, platform string) v1.ConfigFile {
	t.Helper()
	cf, err := imageConfig(t.TempDir(), ociTar, platform)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// ReadImageConfig is ImageConfig for code that is not a test.
func ReadImageConfig(ociTar, platform string) (v1.ConfigFile, error) {
	dir, err := os.MkdirTemp("", "shabunble-image-")
	if err != nil {
		return v1.ConfigFile{}, err
	}
	defer os.RemoveAll(dir)
	return imageConfig(dir, ociTar, platform)
}

func imageConfig(dir, ociTar, platform string) (v1.ConfigFile, error) {
	img, err := OpenImage(dir, ociTar, platform)
	if err != nil {
		return v1.ConfigFile{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.ConfigFile{}, fmt.Errorf("image config: %w", err)
	}
	return *cf, nil
}

// Rootfs extracts the flattened filesystem of the platform's image in an
// OCI layout tar into a temp dir (removed after the test) and returns it.
// Owners, modes and setuid bits are preserved.
func Rootfs(t testing.TB, ociTar, platform string) string {
	t.Helper()
	img, err := OpenImage(t.TempDir(), ociTar, platform)
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := extract(t.TempDir(), img)
	if err != nil {
		t.Fatal(err)
	}
	return rootfs
}

// extract flattens img into dir/rootfs and returns that path.
func extract(dir string, img v1.Image) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return "", err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	cmd := exec.Command("tar", "--numeric-owner", "-xpf", "-", "-C", rootfs)
	cmd.Stdin = rc
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("extract rootfs: %v: %s", err, out)
	}
	return rootfs, nil
}

// OpenImage unpacks the OCI layout tar into dir and picks the image for
// platform ("" = linux/amd64).
func OpenImage(dir, ociTar, platform string) (v1.Image, error) {
	if platform == "" {
		platform = "linux/amd64"
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %v", platform, err)
	}
	if out, err := exec.Command("tar", "-xf", ociTar, "-C", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("untar %s: %v: %s", ociTar, err, out)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI layout: %v", ociTar, err)
	}
	img, err := pick(idx, *want)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ociTar, err)
	}
	return img, nil
}

// pick finds the image for want in idx, descending into nested indexes and
// skipping attestation manifests.
func pick(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var seen []string
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			sub, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := pick(sub, want); err == nil {
				return img, nil
			}
		case d.MediaType.IsImage():
			if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			p := d.Platform
			if p == nil {
				cf, err := img.ConfigFile()
				if err != nil {
					return nil, err
				}
				p = cf.Platform()
			}
			if p != nil && p.OS == want.OS && p.Architecture == want.Architecture && (want.Variant == "" || p.Variant == want.Variant) {
				return img, nil
			}
			if p != nil {
				seen = append(seen, p.String())
			}
		}
	}
	return nil, fmt.Errorf("no image for %s (have %v)", want.String(), seen)
}

var runSeq atomic.Int64

// RunImage runs the platform's image from an OCI layout tar with runc, like
// `docker run` would: the image's Entrypoint+Cmd, Env, WorkingDir and User
// (see RunOpts for overrides). A non-zero exit code is not an error; err is
// set only if the container could not be run or timed out.
//
// It needs the world's runc, so the world must be up (see Load).
func RunImage(t testing.TB, ociTar string, opts RunOpts) (RunResult, error) {
	t.Helper()
	return Load(t).RunImage(t, ociTar, opts)
}

// Rootfs is the method form of the package-level Rootfs.
func (w *World) Rootfs(t testing.TB, ociTar, platform string) string {
	t.Helper()
	return Rootfs(t, ociTar, platform)
}

// ImageConfig is the method form of the package-level ImageConfig.
func (w *World) ImageConfig(t testing.TB, ociTar, platform string) v1.ConfigFile {
	t.Helper()
	return ImageConfig(t, ociTar, platform)
}

// RunImage is RunImage with this world's runc.
func (w *World) RunImage(t testing.TB, ociTar string, opts RunOpts) (RunResult, error) {
	t.Helper()
	return w.run(t.TempDir(), ociTar, opts)
}

// Run is RunImage for code that is not a test (such as `testworld run`):
// the image is unpacked into a temp dir that is removed when it returns.
func (w *World) Run(ociTar string, opts RunOpts) (RunResult, error) {
	dir, err := os.MkdirTemp("", "shabunble-run-")
	if err != nil {
		return RunResult{}, err
	}
	defer os.RemoveAll(dir)
	return w.run(dir, ociTar, opts)
}

// run unpacks the image into dir (layout in dir/layout, bundle in
// dir/bundle) and runs it.
func (w *World) run(dir, ociTar string, opts RunOpts) (RunResult, error) {
	layoutDir, bundle := filepath.Join(dir, "layout"), filepath.Join(dir, "bundle")
	for _, d := range []string{layoutDir, bundle} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return RunResult{}, err
		}
	}
	img, err := OpenImage(layoutDir, ociTar, opts.Platform)
	if err != nil {
		return RunResult{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return RunResult{}, err
	}
	rootfs, err := extract(bundle, img)
	if err != nil {
		return RunResult{}, err
	}
	if out, err := exec.Command(w.RuncBin, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		return RunResult{}, fmt.Errorf("runc spec: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return RunResult{}, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return RunResult{}, err
	}
	c := cf.Config
	args := opts.Args
	if args == nil {
		entry, cmd := c.Entrypoint, c.Cmd
		if opts.Entrypoint != nil {
			entry, cmd = opts.Entrypoint, nil
		}
		if opts.Cmd != nil {
			cmd = opts.Cmd
		}
		args = append(append([]string(nil), entry...), cmd...)
	}
	if len(args) == 0 {
		return RunResult{}, errors.New("no command: image has neither Entrypoint nor Cmd")
	}
	spec.Process.Terminal = false
	spec.Process.Args = args
	spec.Process.Env = mergeEnv(c.Env, opts.Env)
	spec.Process.Cwd = "/"
	if c.WorkingDir != "" {
		spec.Process.Cwd = c.WorkingDir
	}
	if opts.WorkingDir != "" {
		spec.Process.Cwd = opts.WorkingDir
	}
	user := c.User
	if opts.User != "" {
		user = opts.User
	}
	uid, gid, err := resolveUser(rootfs, user)
	if err != nil {
		return RunResult{}, err
	}
	spec.Process.User = specs.User{UID: uid, GID: gid}
	spec.Root = &specs.Root{Path: "rootfs", Readonly: false}
	spec.Hostname = "shabunble"
	hosts := make([]string, 0, len(opts.Mounts))
	for h := range opts.Mounts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: opts.Mounts[h], Type: "bind", Source: h, Options: []string{"rbind", "ro"}})
	}
	b, err = json.MarshalIndent(&spec, "", "  ")
	if err != nil {
		return RunResult{}, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		return RunResult{}, err
	}

	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	state := filepath.Join(w.Dir, "runc")
	id := fmt.Sprintf("shabunble-test-%d-%d", os.Getpid(), runSeq.Add(1))
	runc := func(args ...string) *exec.Cmd {
		return exec.Command(w.RuncBin, append([]string{"--root", state}, args...)...)
	}
	defer func() { _ = runc("delete", "--force", id).Run() }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.RuncBin, "--root", state, "run", "--bundle", bundle, id)
	cmd.Cancel = func() error {
		_ = runc("kill", id, "KILL").Run()
		return cmd.Process.Kill()
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = io.Writer(&o), io.Writer(&e), opts.Stdin
	if opts.Stdout != nil {
		cmd.Stdout = io.MultiWriter(&o, opts.Stdout)
	}
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&e, opts.Stderr)
	}
	err = cmd.Run()
	res := RunResult{Stdout: o.String(), Stderr: e.String(), Args: args}
	if ctx.Err() != nil {
		return res, fmt.Errorf("container %v timed out after %v; stderr: %s", args, timeout, res.Stderr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitCode()
		return res, nil
	}
	return res, err
}

// mergeEnv overlays extra KEY=VALUE pairs on base.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	if len(out) == 0 {
		out = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	return out
}

// resolveUser turns an image User ("", "uid", "uid:gid", "name[:group]")
// into numeric ids, looking names up in the rootfs /etc/passwd and /etc/group.
func resolveUser(rootfs, user string) (uint32, uint32, error) {
	if user == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, gid := -1, -1
	if n, err := strconv.Atoi(u); err == nil {
		uid = n
	} else {
		ent, ok := lookup(filepath.Join(rootfs, "etc/passwd"), u)
		if !ok {
			return 0, 0, fmt.Errorf("user %q not in the image's /etc/passwd", u)
		}
		uid, _ = strconv.Atoi(ent[2])
		gid, _ = strconv.Atoi(ent[3])
	}
	if hasGroup {
		if n, err := strconv.Atoi(g); err == nil {
			gid = n
		} else {
			ent, ok := lookup(filepath.Join(rootfs, "etc/group"), g)
			if !ok {
				return 0, 0, fmt.Errorf("group %q not in the image's /etc/group", g)
			}
			gid, _ = strconv.Atoi(ent[2])
		}
	}
	if gid < 0 {
		// uid without group: the passwd entry's group, else the uid.
		gid = uid
		if ent, ok := lookupUID(filepath.Join(rootfs, "etc/passwd"), uid); ok {
			gid, _ = strconv.Atoi(ent[3])
		}
	}
	return uint32(uid), uint32(gid), nil
}

func lookup(file, name string) ([]string, bool) {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) >= 4 && f[0] == name {
			return f, true
		} else if len(f) >= 3 && f[0] == name && strings.HasSuffix(file, "group") {
			return f, true
		}
	}
	return nil, false
}

func lookupUID(file string, uid int) ([]string, bool) {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) >= 4 && f[2] == strconv.Itoa(uid) {
			return f, true
		}
	}
	return nil, false
}
