// Command bench compares shabunble with hand-written Dockerfiles on the
// same BuildKit, side by side in one run: build times (cold, no-op, code
// edit, requirements edit), image sizes and contents, and the frontend's
// own overhead. It uses the offline test world (`make world`) and starts
// its own buildkitd daemons with the world's binaries and config.
//
//	go run ./bench [-runs 5] [-out BENCHMARKS.md] [-smoke]
//
// See `make bench`.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// worldEnv is what the bench needs from .world/env.
type worldEnv struct {
	buildctl, buildkitd, runc, registry, pipIndex, dir, frontendImage string
}

type bench struct {
	w       worldEnv
	repo    string
	tmp     string
	config  string // copy of the world's buildkitd.toml
	runs    int
	smoke   bool
	seq     int
	daemons []*daemon
	// frontendDigests are the frontend image digests the (c) builds ran;
	// more than one means the image changed during the bench.
	frontendDigests map[string]bool
	loadStart       string
	frontendPin     string // sha256:... of the frontend image for the run
	logw            io.Writer
}

// Deploy modes the spec may have; the ones the frontend refuses are
// reported as not available.
var modes = []string{"distroless", "scratch", "shell"}

// Scenarios of the build-time table.
const (
	scCold = "cold"
	scNoop = "no-op rebuild"
	scCode = "code edit"
	scReq  = "requirements edit"
)

var scenarios = []string{scCold, scNoop, scCode, scReq}

// impl is one way of building an example.
type impl struct {
	key       string // naive, multistage, shabunble-<mode>
	label     string
	kind      string // "a", "b" or "c"
	mode      string // deploy mode, for "c"
	file      string // the Dockerfile (a, b) or spec (c) name in the context
	available bool
	reason    string // why a mode is not available
	imageTar  string // from the untimed first warm build
	stats     imageStats
	work      string // the warm phase's context dir (edited in place)
	times     map[string][]time.Duration
	gateway   map[string][]time.Duration // gateway start -> first Solve (c only)
	fromStart map[string][]time.Duration // build start -> first Solve
	coldTrace []*vertex                  // vertices of the last cold build
}

type example struct {
	name   string
	src    string // examples/<name>
	pyFile string // the entrypoint file, relative to the context
	hasReq bool
	impls  []*impl
}

func main() {
	runs := flag.Int("runs", 5, "samples per measurement (median reported)")
	out := flag.String("out", "BENCHMARKS.md", "Markdown report to write")
	smoke := flag.Bool("smoke", false, "smoke mode: check that every step works, fast (use with -runs 1)")
	command := flag.String("command", "", "the command line to print in the report (default: this program's)")
	flag.Parse()
	if *runs < 1 {
		fatalf("-runs must be at least 1")
	}
	if *command == "" {
		*command = "go run ./bench " + strings.Join(os.Args[1:], " ")
	}
	b := &bench{runs: *runs, smoke: *smoke, logw: os.Stderr, frontendDigests: map[string]bool{}}
	code := 0
	if err := b.run(*out, *command); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		code = 1
	}
	b.cleanup()
	os.Exit(code)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.logw, "bench: "+format+"\n", args...)
}

func (b *bench) cleanup() {
	for _, d := range b.daemons {
		d.stop()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}

func (b *bench) run(outFile, command string) error {
	t0 := time.Now()
	b.loadStart = loadAvg()
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	b.repo = repo
	if b.w, err = loadWorld(repo); err != nil {
		return err
	}
	b.tmp, err = os.MkdirTemp("", "shabunble-bench-")
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		b.logf("interrupted; stopping the bench's buildkitd daemons")
		b.cleanup()
		os.Exit(130)
	}()
	cfg, err := os.ReadFile(filepath.Join(b.w.dir, "buildkitd.toml"))
	if err != nil {
		return fmt.Errorf("the world's buildkitd.toml: %w (run `make world`)", err)
	}
	b.config = filepath.Join(b.tmp, "buildkitd.toml")
	if err := os.WriteFile(b.config, cfg, 0o644); err != nil {
		return err
	}
	exs, err := b.examples()
	if err != nil {
		return err
	}
	// Every (c) build of the run uses the same frontend: the tag is
	// resolved once and the specs' `# syntax=` lines name its digest, so a
	// `make frontend` during the bench does not mix versions.
	feRepo, feTag := splitRef(b.w.frontendImage)
	if b.frontendPin, err = manifestDigest(b.w.registry, feRepo, feTag); err != nil {
		return fmt.Errorf("frontend image %s: %w", b.w.frontendImage, err)
	}
	b.logf("frontend %s is %s for this run", b.w.frontendImage, b.frontendPin)

	// Warm phase: one daemon; the first build of each (untimed) primes it,
	// finds which deploy modes exist and gives the image for the sizes.
	if err := b.warm(exs); err != nil {
		return err
	}
	if err := b.cold(exs); err != nil {
		return err
	}
	for _, ex := range exs {
		for _, im := range ex.impls {
			if !im.available {
				continue
			}
			if im.stats, err = ociStats(im.imageTar, b.tmp); err != nil {
				return fmt.Errorf("%s %s: image stats: %w", ex.name, im.key, err)
			}
		}
	}
	fe, err := registryImageStats(b.w.registry, feRepo, b.frontendPin)
	if err != nil {
		return fmt.Errorf("frontend image %s: %w", b.w.frontendImage, err)
	}
	// A failing go benchmark is reported in the table, and fails the run
	// once the report is written.
	gb, gbErr := b.goBench()
	if gbErr != nil {
		gb.Err = gbErr.Error()
	}
	env := b.environment(command)
	env.Load = fmt.Sprintf("%s at the start, %s at the end", b.loadStart, loadAvg())
	report := render(b, exs, fe, gb, env, time.Since(t0))
	fmt.Print(report)
	if err := os.WriteFile(outFile, []byte(report), 0o644); err != nil {
		return err
	}
	b.logf("wrote %s in %s", outFile, time.Since(t0).Round(time.Second))
	return gbErr
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// loadWorld reads .world/env (exported variables win, as in
// integration/world).
func loadWorld(repo string) (worldEnv, error) {
	env := map[string]string{}
	f, err := os.Open(filepath.Join(repo, ".world", "env"))
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				env[k] = v
			}
		}
		f.Close()
	}
	for _, k := range []string{"SHABUNBLE_BUILDCTL", "SHABUNBLE_BUILDKITD", "SHABUNBLE_RUNC", "SHABUNBLE_REGISTRY",
		"SHABUNBLE_PIP_INDEX", "SHABUNBLE_WORLD", "SHABUNBLE_FRONTEND_IMAGE"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
		if env[k] == "" {
			return worldEnv{}, fmt.Errorf("test world not ready (no %s): run `make world`", k)
		}
	}
	w := worldEnv{buildctl: env["SHABUNBLE_BUILDCTL"], buildkitd: env["SHABUNBLE_BUILDKITD"], runc: env["SHABUNBLE_RUNC"],
		registry: env["SHABUNBLE_REGISTRY"], pipIndex: env["SHABUNBLE_PIP_INDEX"], dir: env["SHABUNBLE_WORLD"],
		frontendImage: env["SHABUNBLE_FRONTEND_IMAGE"]}
	if _, err := os.Stat(w.buildkitd); err != nil {
		return w, fmt.Errorf("buildkitd binary: %w (run `make world`)", err)
	}
	return w, nil
}

// splitRef turns ghcr.io/shabunble/shabunble:1 into (shabunble/shabunble, 1):
// the world's registry mirrors the upstream by repository path.
func splitRef(ref string) (string, string) {
	repo, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	if i := strings.Index(repo, "/"); i >= 0 && strings.ContainsAny(repo[:i], ".:") {
		repo = repo[i+1:]
	}
	return repo, tag
}

// examples lists the example apps that exist and their ways of building.
func (b *bench) examples() ([]*example, error) {
	var exs []*example
	for _, name := range []string{"python-basic", "python-requirements"} {
		src := filepath.Join(b.repo, "examples", name)
		if _, err := os.Stat(filepath.Join(src, "shabunble.yaml")); err != nil {
			continue
		}
		ex := &example{name: name, src: src}
		py, err := entrypointFile(filepath.Join(src, "shabunble.yaml"))
		if err != nil {
			return nil, err
		}
		ex.pyFile = py
		if _, err := os.Stat(filepath.Join(src, "app", "requirements.txt")); err == nil {
			ex.hasReq = true
		}
		ex.impls = append(ex.impls,
			&impl{key: "naive", label: "(a) naive Dockerfile", kind: "a", file: "Dockerfile", available: true},
			&impl{key: "multistage", label: "(b) multi-stage Dockerfile", kind: "b", file: "Dockerfile", available: true})
		for _, m := range modes {
			if b.smoke && m != "distroless" {
				continue // smoke: the other modes take the same code path
			}
			ex.impls = append(ex.impls, &impl{key: "shabunble-" + m, label: "(c) shabunble " + m, kind: "c", mode: m,
				file: "shabunble.yaml", available: true})
		}
		for _, im := range ex.impls {
			im.times = map[string][]time.Duration{}
			im.gateway = map[string][]time.Duration{}
			im.fromStart = map[string][]time.Duration{}
		}
		exs = append(exs, ex)
	}
	if len(exs) == 0 {
		return nil, errors.New("no examples found")
	}
	if b.smoke {
		// One example (the one with requirements) exercises every step.
		exs = exs[len(exs)-1:]
	}
	return exs, nil
}

// entrypointFile reads the program file of a spec's `entrypoint:` (its
// first element), relative to the build context: app/<file>.
func entrypointFile(spec string) (string, error) {
	data, err := os.ReadFile(spec)
	if err != nil {
		return "", err
	}
	app := "."
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "app:"); ok {
			app = strings.Trim(strings.TrimSpace(v), `"'`)
		}
		if v, ok := strings.CutPrefix(line, "entrypoint:"); ok {
			v = strings.TrimSpace(v)
			v = strings.TrimPrefix(v, "[")
			first, _, _ := strings.Cut(v, ",")
			first = strings.Trim(strings.TrimSpace(strings.TrimSuffix(first, "]")), `"'`)
			if first != "" {
				return filepath.Join(app, first), nil
			}
		}
	}
	return "", fmt.Errorf("%s: no entrypoint file found", spec)
}

// context writes a build context for im: a copy of the example plus the
// Dockerfile from bench/<example>/, or the spec with `deploy: <mode>`.
func (b *bench) context(ex *example, im *impl, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", ex.src, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", ex.src, err, out)
	}
	switch im.kind {
	case "a", "b":
		name := map[string]string{"a": "naive.Dockerfile", "b": "multistage.Dockerfile"}[im.kind]
		df, err := os.ReadFile(filepath.Join(b.repo, "bench", ex.name, name))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644)
	default:
		spec, err := os.ReadFile(filepath.Join(dir, "shabunble.yaml"))
		if err != nil {
			return err
		}
		var keep []string
		for _, line := range strings.Split(strings.TrimRight(string(spec), "\n"), "\n") {
			if strings.TrimSpace(line) == "# syntax="+b.w.frontendImage {
				line = "# syntax=" + b.w.frontendImage + "@" + b.frontendPin
			}
			if !strings.HasPrefix(line, "deploy:") {
				keep = append(keep, line)
			}
		}
		keep = append(keep, "deploy: "+im.mode, "")
		return os.WriteFile(filepath.Join(dir, "shabunble.yaml"), []byte(strings.Join(keep, "\n")), 0o644)
	}
}

// build runs one `buildctl build` of the context dir on d and returns its
// wall time. Every build, A or B, exports the same way: an OCI layout tar
// streamed to the client (--output type=oci,dest=...).
func (b *bench) build(d *daemon, im *impl, dir, dest string) (time.Duration, []*vertex, error) {
	args := []string{"--addr", d.addr, "build",
		"--frontend", "dockerfile.v0",
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--opt", "filename=" + im.file,
		"--opt", "build-arg:PIP_INDEX_URL=" + b.w.pipIndex,
		"--output", "type=oci,dest=" + dest,
		"--progress", "rawjson"}
	cmd := exec.Command(b.w.buildctl, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	dur := time.Since(start)
	vs := parseRawJSON(stderr.Bytes())
	if err != nil {
		return dur, vs, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 3))
	}
	return dur, vs, nil
}

// lastLines returns the last n non-JSON lines of buildctl's output (its
// error), or the last n lines.
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "{") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " | ")
}

func (b *bench) record(im *impl, sc string, dur time.Duration, vs []*vertex) {
	im.times[sc] = append(im.times[sc], dur)
	if im.kind == "c" {
		for _, v := range vs {
			if ref, ok := strings.CutPrefix(v.Name, "docker-image://"+b.w.frontendImage+"@"); ok {
				b.frontendDigests[ref] = true
			}
		}
		if g, s, ok := frontendTiming(vs, b.w.frontendImage); ok {
			im.gateway[sc] = append(im.gateway[sc], g)
			im.fromStart[sc] = append(im.fromStart[sc], s)
		}
	}
}

func (b *bench) warm(exs []*example) error {
	d, err := b.startDaemon(filepath.Join(b.tmp, "warm"))
	if err != nil {
		return err
	}
	defer d.stop()
	for _, ex := range exs {
		for _, im := range ex.impls {
			im.work = filepath.Join(b.tmp, "ctx", ex.name+"-"+im.key)
			if err := b.context(ex, im, im.work); err != nil {
				return err
			}
			im.imageTar = filepath.Join(b.tmp, "img", ex.name+"-"+im.key+".tar")
			_ = os.MkdirAll(filepath.Dir(im.imageTar), 0o755)
			dur, _, err := b.build(d, im, im.work, im.imageTar)
			if err != nil {
				if im.kind != "c" {
					return fmt.Errorf("%s %s: %w", ex.name, im.key, err)
				}
				im.available, im.reason = false, reasonOf(err)
				b.logf("%s %s: not available: %s", ex.name, im.key, im.reason)
				continue
			}
			b.logf("%s %s: first build %s", ex.name, im.key, dur.Round(time.Millisecond))
		}
	}
	dest := filepath.Join(b.tmp, "out.tar")
	for _, sc := range []string{scNoop, scCode, scReq} {
		for _, ex := range exs {
			if sc == scReq && !ex.hasReq {
				continue
			}
			for i := 0; i < b.runs; i++ {
				for _, im := range ex.impls {
					if !im.available {
						continue
					}
					switch sc {
					case scCode:
						err = appendLine(filepath.Join(im.work, ex.pyFile), fmt.Sprintf("# bench edit %d", i))
					case scReq:
						err = appendLine(filepath.Join(im.work, "app", "requirements.txt"), fmt.Sprintf("# bench edit %d", i))
					}
					if err != nil {
						return err
					}
					dur, vs, err := b.build(d, im, im.work, dest)
					if err != nil {
						return fmt.Errorf("%s %s %s: %w", ex.name, im.key, sc, err)
					}
					b.record(im, sc, dur, vs)
					b.logf("%s %s %s #%d: %s", ex.name, im.key, sc, i+1, dur.Round(time.Millisecond))
				}
			}
		}
	}
	return nil
}

// cold builds each way on a new buildkitd with an empty root, one daemon
// per sample, interleaved: (b), (c) modes, (a), then again.
func (b *bench) cold(exs []*example) error {
	dest := filepath.Join(b.tmp, "out.tar")
	for i := 0; i < b.runs; i++ {
		for _, ex := range exs {
			for _, im := range coldOrder(ex.impls) {
				if !im.available || (b.smoke && im.key != "multistage" && im.key != "shabunble-distroless") {
					continue // smoke: one cold build of each kind exercises the path
				}
				dir := filepath.Join(b.tmp, "cold-ctx", ex.name+"-"+im.key)
				if err := b.context(ex, im, dir); err != nil {
					return err
				}
				b.seq++
				d, err := b.startDaemon(filepath.Join(b.tmp, fmt.Sprintf("cold%d", b.seq)))
				if err != nil {
					return err
				}
				dur, vs, err := b.build(d, im, dir, dest)
				d.stop()
				if err != nil {
					return fmt.Errorf("%s %s cold: %w", ex.name, im.key, err)
				}
				b.record(im, scCold, dur, vs)
				im.coldTrace = vs
				b.logf("%s %s cold #%d: %s", ex.name, im.key, i+1, dur.Round(time.Millisecond))
			}
		}
	}
	return nil
}

func coldOrder(impls []*impl) []*impl {
	var out []*impl
	for _, k := range []string{"b", "c", "a"} {
		for _, im := range impls {
			if im.kind == k {
				out = append(out, im)
			}
		}
	}
	return out
}

// reasonOf is the frontend's error from a failed build: the text after
// buildctl's "failed to solve: ".
func reasonOf(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "failed to solve: "); i >= 0 {
		s = s[i+len("failed to solve: "):]
	}
	return s
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadAvg is the 1, 5 and 15 minute load average: other work on the
// machine makes the figures noisy.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
