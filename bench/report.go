package main

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

type goBenchResult struct {
	Line                  string
	NsOp, BytesOp, Allocs float64
	Iterations            int
	Command               string
	Err                   string
}

// goBench runs BenchmarkParseAndLLB (spec parsing plus LLB generation and
// marshalling) with -benchmem.
func (b *bench) goBench() (goBenchResult, error) {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkParseAndLLB$", "-benchmem", "-count", "1"}
	if b.smoke {
		args = append(args, "-benchtime", "1x")
	}
	args = append(args, "./llb")
	r := goBenchResult{Command: goBin + " " + strings.Join(args, " ")}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = b.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("%s: %v\n%s", r.Command, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "BenchmarkParseAndLLB") {
			continue
		}
		r.Line = strings.Join(strings.Fields(line), " ")
		f := strings.Fields(line)
		if len(f) > 1 {
			r.Iterations, _ = strconv.Atoi(f[1])
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				r.NsOp = v
			case "B/op":
				r.BytesOp = v
			case "allocs/op":
				r.Allocs = v
			}
		}
	}
	if r.Line == "" {
		return r, fmt.Errorf("%s: no benchmark line in:\n%s", r.Command, out)
	}
	return r, nil
}

// environment is the machine and the versions, all read, none typed.
type environment struct {
	Command, Load, CPUs, Memory, CPU, Kernel, Go, Buildctl, Buildkitd, Runc, Commit, Date string
}

func (b *bench) environment(command string) environment {
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir = b.repo
		out, err := cmd.Output()
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		return strings.TrimSpace(strings.Split(string(out), "\n")[0])
	}
	e := environment{Command: command, Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	e.CPUs = run("nproc")
	e.Kernel = run("uname", "-sr")
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
				e.Memory = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				e.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	e.Go = run(goBin, "version")
	e.Buildctl = "buildctl " + moduleVersion(b.w.buildctl)
	e.Buildkitd = "buildkitd " + moduleVersion(b.w.buildkitd)
	e.Runc = run(b.w.runc, "--version")
	e.Commit = run("git", "rev-parse", "--short", "HEAD")
	if st := run("git", "status", "--porcelain", "--untracked-files=no"); st != "" && !strings.HasPrefix(st, "unknown") {
		e.Commit += " (with uncommitted changes)"
	}
	return e
}

// moduleVersion is the BuildKit module version a binary was built from
// (`go version -m`): the world builds buildctl and buildkitd with
// `go build`, so their --version says v0.0.0+unknown.
func moduleVersion(bin string) string {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	out, err := exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && (f[0] == "mod" || f[0] == "dep") && f[1] == "github.com/moby/buildkit" {
			return f[2]
		}
	}
	return "unknown"
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(ds []time.Duration) (time.Duration, time.Duration) {
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func timeCell(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	if len(ds) == 1 {
		return secs(ds[0])
	}
	lo, hi := minMax(ds)
	return fmt.Sprintf("%s (%s–%s)", secs(median(ds)), secs(lo), secs(hi))
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

type goal struct {
	what   string
	met    bool
	na     bool
	detail string
}

func (g goal) String() string {
	mark := "**met**"
	switch {
	case g.na:
		mark = "**not measurable**"
	case !g.met:
		mark = "**NOT met**"
	}
	return fmt.Sprintf("- %s — %s: %s", mark, g.what, g.detail)
}

func find(ex *example, key string) *impl {
	for _, im := range ex.impls {
		if im.key == key {
			return im
		}
	}
	return nil
}

func render(b *bench, exs []*example, fe imageStats, gb goBenchResult, env environment, wall time.Duration) string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# Benchmarks: shabunble vs hand-written Dockerfiles\n\n")
	p("Generated by `bench/` (`make bench`); every figure below is measured by that run, none is typed by hand.\n")
	if b.smoke {
		p("\n**Smoke run** (`-smoke`, %d sample): checks that the bench works; the figures are not meaningful.\n", b.runs)
	}
	p("\n- command: `%s` (runs `go run ./bench %s`)\n", env.Command, strings.Join(os.Args[1:], " "))
	p("- date: %s; wall time of the bench: %s\n", env.Date, wall.Round(time.Second))
	p("- machine: `nproc` = %s, memory %s, %s, %s\n", env.CPUs, env.Memory, env.CPU, env.Kernel)
	p("- load average (1, 5, 15 min): %s\n", env.Load)
	p("- versions: %s; %s; %s; %s; shabunble %s\n", env.Buildctl, env.Buildkitd, env.Runc, env.Go, env.Commit)
	var digests []string
	for d := range b.frontendDigests {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	p("- frontend image: `%s`, resolved once at the start to `%s` and named by digest in the specs' `# syntax=` line for the whole run (builds ran: %s); through BuildKit's built-in dockerfile.v0, as a user builds it\n", b.w.frontendImage, b.frontendPin, strings.Join(digests, ", "))
	if len(digests) > 1 {
		p("- **warning**: the frontend image changed during the run (%d digests): the (c) figures mix versions\n", len(digests))
	}
	p("- samples: %d per cell, median shown with (min–max); interleaved (b), (c), (a), (b), (c), (a)…\n\n", b.runs)

	p("## What is compared\n\n")
	p("For each example app, on the same buildkitd and the same base look-alikes from the test world's registry:\n\n")
	p("- **(a)** `bench/<example>/naive.Dockerfile`: the guide's naive single stage on `docker.io/library/python:3.13-slim-trixie`.\n")
	p("- **(b)** `bench/<example>/multistage.Dockerfile`: the guide's hand-written multi-stage build — `pip install --target` of the requirements on the slim image (only `requirements.txt` copied first, pip cache mount), deploy stage `FROM gcr.io/distroless/python3-debian13` copying site-packages and the app, `ENTRYPOINT [\"python3.13\", <app>]`.\n")
	p("- **(c)** `examples/<example>/shabunble.yaml` with `deploy: <mode>` for each mode; a mode the frontend refuses is *not available*.\n\n")
	p("Every build is `buildctl build --frontend dockerfile.v0 --local context=… --local dockerfile=… --opt build-arg:PIP_INDEX_URL=<world pip index> --output type=oci,dest=<tar> --progress rawjson`: the same OCI-tar export (compressing the new layers and streaming the tar to the client) for A and B. Time is the wall time of the `buildctl` process.\n\n")
	p("- **cold**: a new buildkitd per sample, with the world's `buildkitd.toml` (same runc, snapshotter, registry mirror) and an empty `--root` in a temp dir; base images (and the frontend image) come from the local registry, so they are pulled and unpacked in the time.\n")
	p("- **no-op rebuild**: the same context again on a warm bench daemon.\n")
	p("- **code edit**: a new comment line appended to the app's `.py` file before each sample (the context is a temp copy of the example).\n")
	p("- **requirements edit**: a new comment line appended to `requirements.txt` (python-requirements only; python-basic has none: n/a).\n\n")

	var goals []goal
	p("## Build time (seconds)\n\n")
	var cModes []*impl
	for _, im := range exs[0].impls {
		if im.kind == "c" {
			cModes = append(cModes, im)
		}
	}
	p("| example | build |")
	for _, im := range exs[0].impls {
		p(" %s |", im.label)
	}
	for _, im := range cModes {
		p(" %s / (b) |", strings.TrimPrefix(im.label, "(c) "))
	}
	p("\n|---|---|")
	for range exs[0].impls {
		p("--:|")
	}
	for range cModes {
		p("--:|")
	}
	p("\n")
	for _, ex := range exs {
		mst := find(ex, "multistage")
		for _, sc := range scenarios {
			if sc == scReq && !ex.hasReq {
				p("| %s | %s |", ex.name, sc)
				for range ex.impls {
					p(" n/a |")
				}
				for range cModes {
					p(" n/a |")
				}
				p("\n")
				continue
			}
			p("| %s | %s |", ex.name, sc)
			for _, im := range ex.impls {
				if !im.available {
					p(" not available |")
				} else {
					p(" %s |", timeCell(im.times[sc]))
				}
			}
			limit := 1.0
			if sc == scCold {
				limit = 1.05
			}
			for _, c := range ex.impls {
				if c.kind != "c" {
					continue
				}
				if !c.available {
					p(" not available |")
					continue
				}
				if len(c.times[sc]) == 0 || len(mst.times[sc]) == 0 {
					p(" n/a |")
					continue
				}
				r := ratio(median(c.times[sc]).Seconds(), median(mst.times[sc]).Seconds())
				p(" %.3f |", r)
				if c.mode != "distroless" {
					continue // (b) is a distroless build: the time goals are like for like
				}
				goals = append(goals, goal{what: fmt.Sprintf("%s %s, %s: time ≤ %.2f × (b)", ex.name, c.mode, sc, limit),
					met: r <= limit, detail: fmt.Sprintf("%.3f (%ss vs %ss)", r, secs(median(c.times[sc])), secs(median(mst.times[sc])))})
			}
			p("\n")
		}
	}
	for _, c := range exs[0].impls {
		if c.kind == "c" && !c.available {
			p("\n%s: not available — the frontend refuses it: `%s`\n", c.label, c.reason)
		}
	}

	p("\n## Image (linux/amd64)\n\n")
	p("Uncompressed: sum of the uncompressed layer tars. Compressed: sum of the layer blobs in the OCI tar. Files: regular files (hard links included) in the flattened filesystem (`mutate.Extract`). Executables in PATH: regular files with any x bit directly in /bin, /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin, merged-/usr symlinks followed and each real folder counted once.\n\n")
	p("| example | image | uncompressed | compressed | vs (b) uncompr. | vs (b) compr. | layers | files | executables in PATH |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, ex := range exs {
		mst := find(ex, "multistage")
		for _, im := range ex.impls {
			if !im.available {
				p("| %s | %s | not available | | | | | | |\n", ex.name, im.label)
				continue
			}
			s := im.stats
			ru := ratio(float64(s.Uncompressed), float64(mst.stats.Uncompressed))
			rc := ratio(float64(s.Compressed), float64(mst.stats.Compressed))
			p("| %s | %s | %s | %s | %.3f | %.3f | %d | %d | %d |\n", ex.name, im.label, mbStr(s.Uncompressed), mbStr(s.Compressed), ru, rc, s.Layers, s.Files, s.Executables)
		}
		for _, im := range ex.impls {
			var limit float64
			switch {
			case im.mode == "distroless":
				limit = 1.01
			case im.mode == "scratch" && ex.name == "python-basic":
				limit = 0.6
			default:
				continue
			}
			what := fmt.Sprintf("%s %s: image size ≤ %.2f × (b), uncompressed and compressed", ex.name, im.mode, limit)
			if !im.available {
				goals = append(goals, goal{what: what, na: true, detail: "mode not available"})
				continue
			}
			ru := ratio(float64(im.stats.Uncompressed), float64(mst.stats.Uncompressed))
			rc := ratio(float64(im.stats.Compressed), float64(mst.stats.Compressed))
			goals = append(goals, goal{what: what, met: ru <= limit && rc <= limit,
				detail: fmt.Sprintf("%.3f uncompressed (%s vs %s), %.3f compressed (%s vs %s)", ru, mbStr(im.stats.Uncompressed), mbStr(mst.stats.Uncompressed), rc, mbStr(im.stats.Compressed), mbStr(mst.stats.Compressed))})
		}
	}

	p("\n## Frontend overhead\n\n")
	p("| measure | value |\n|---|--:|\n")
	p("| frontend image `%s`: compressed / uncompressed | %s / %s |\n", b.w.frontendImage, mbStr(fe.Compressed), mbStr(fe.Uncompressed))
	p("| frontend image: layers / files / executables in PATH | %d / %d / %d |\n", fe.Layers, fe.Files, fe.Executables)
	for _, sc := range []string{scCold, scNoop} {
		var g, s []time.Duration
		for _, ex := range exs {
			for _, im := range ex.impls {
				g = append(g, im.gateway[sc]...)
				s = append(s, im.fromStart[sc]...)
			}
		}
		p("| gateway start → first Solve, %s (median of %d, ms) | %s |\n", sc, len(g), msCell(g))
		p("| build start → first Solve, %s (median of %d, ms) | %s |\n", sc, len(s), msCell(s))
	}
	if gb.Err != "" {
		p("| `BenchmarkParseAndLLB` | failed: %s |\n", strings.ReplaceAll(strings.TrimSpace(strings.Split(gb.Err, "\n")[0]), "|", "\\|"))
	}
	p("| `BenchmarkParseAndLLB`: ns/op | %.0f |\n", gb.NsOp)
	p("| `BenchmarkParseAndLLB`: B/op | %.0f |\n", gb.BytesOp)
	p("| `BenchmarkParseAndLLB`: allocs/op | %.0f |\n", gb.Allocs)
	p("\nMethod: every (c) build runs with `--progress rawjson`. *Gateway start → first Solve* is from the completion of the frontend image vertex (`docker-image://%s@sha256:…`: the image is pulled/unpacked and BuildKit now starts the gateway container with runc) to the start of the first vertex that starts after it, which is the first request the frontend itself solves (dockerui's `[internal] load .dockerignore`/build context, or the base image metadata). It includes starting the container, the frontend binary's start-up and its first gRPC round trip. *Build start → first Solve* is from the build's first vertex (dockerfile.v0 loading `shabunble.yaml`) to the same point: it adds reading the `# syntax=` line and resolving and pulling the frontend image; (b), on the built-in frontend, has no such step.\n", b.w.frontendImage)
	p("\n`%s`:\n\n    %s\n", gb.Command, gb.Line)

	p("\n## Goals\n\n")
	p("The time goals compare like with like: shabunble's distroless mode with (b), which is a distroless build; the scratch and shell modes do other work (scratch trims the image to the runtime closure, shell builds on debian:trixie-slim) and their ratios are in the table only.\n\n")
	for _, g := range goals {
		p("%s\n", g)
	}

	p("\n## Cold builds: where the time goes (last cold sample)\n\n")
	p("From the rawjson vertex timestamps, in seconds from the build's first vertex. *Base image loads* are the pulls of the base images (`FROM …@sha256` in (b), `[internal] load <image>` in (c)): *span* is first start to last end, *sum* adds their durations, so span ≈ sum means they ran one after the other and span < sum that they overlapped.\n\n")
	p("| example | image | frontend image ready | base loads start | base loads span | base loads sum | first build step starts | export ends |\n|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, ex := range exs {
		for _, im := range ex.impls {
			if !im.available || len(im.coldTrace) == 0 {
				continue
			}
			t := summarize(im.coldTrace, b.w.frontendImage)
			fe := "-"
			if t.frontendReady > 0 {
				fe = fmt.Sprintf("%.2f", t.frontendReady.Seconds())
			}
			p("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", ex.name, im.label, fe, t.loadsStart.Seconds(), t.loadsSpan.Seconds(), t.loadsSum.Seconds(), t.firstStep.Seconds(), t.end.Seconds())
		}
	}

	p("\n## Cold build timelines (last cold sample)\n\n")
	p("Vertices by start, offset from the build's first vertex, and duration; for telling where time goes.\n")
	for _, ex := range exs {
		for _, im := range ex.impls {
			if !im.available || im.kind == "a" || len(im.coldTrace) == 0 {
				continue
			}
			p("\n<details><summary>%s %s</summary>\n\n| start (s) | duration (s) | vertex |\n|--:|--:|---|\n", ex.name, im.label)
			t0 := im.coldTrace[0].Started
			for _, v := range im.coldTrace {
				if v.Started.IsZero() {
					continue
				}
				dur := "-"
				if !v.Completed.IsZero() {
					dur = fmt.Sprintf("%.3f", v.Completed.Sub(v.Started).Seconds())
				}
				name := strings.ReplaceAll(v.Name, "|", "\\|")
				if len(name) > 110 {
					name = name[:110] + "…"
				}
				p("| %.3f | %s | %s |\n", v.Started.Sub(t0).Seconds(), dur, name)
			}
			p("\n</details>\n")
		}
	}
	return w.String()
}

func mbStr(n int64) string { return mb(n) }

func msCell(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	lo, hi := minMax(ds)
	return fmt.Sprintf("%.0f (%.0f–%.0f)", float64(median(ds).Microseconds())/1000, float64(lo.Microseconds())/1000, float64(hi.Microseconds())/1000)
}

type coldSummary struct {
	frontendReady, loadsStart, loadsSpan, loadsSum, firstStep, end time.Duration
}

// isBaseLoad tells the pulls of base images: `[stage 1/3] FROM x@sha256:…`
// from the Dockerfile frontend, `[internal] load x` from dockerui.
func isBaseLoad(name string) bool {
	if strings.Contains(name, "] FROM ") && strings.Contains(name, "@sha256:") {
		return true
	}
	return strings.HasPrefix(name, "[internal] load ") && !strings.HasPrefix(name, "[internal] load metadata") &&
		!strings.HasPrefix(name, "[internal] load build") && !strings.HasPrefix(name, "[internal] load .dockerignore")
}

func summarize(vs []*vertex, frontendImage string) coldSummary {
	var s coldSummary
	t0 := vs[0].Started
	var lStart, lEnd, first time.Time
	for _, v := range vs {
		if v.Started.IsZero() {
			continue
		}
		if !v.Completed.IsZero() && v.Completed.Sub(t0) > s.end {
			s.end = v.Completed.Sub(t0)
		}
		switch {
		case strings.HasPrefix(v.Name, "docker-image://"+frontendImage):
			if !v.Completed.IsZero() {
				s.frontendReady = v.Completed.Sub(t0)
			}
		case isBaseLoad(v.Name):
			if lStart.IsZero() || v.Started.Before(lStart) {
				lStart = v.Started
			}
			if v.Completed.After(lEnd) {
				lEnd = v.Completed
			}
			if !v.Completed.IsZero() {
				s.loadsSum += v.Completed.Sub(v.Started)
			}
		case strings.HasPrefix(v.Name, "[internal]"), strings.HasPrefix(v.Name, "resolve image config"),
			strings.HasPrefix(v.Name, "exporting"):
		default:
			if first.IsZero() || v.Started.Before(first) {
				first = v.Started
			}
		}
	}
	if !lStart.IsZero() {
		s.loadsStart, s.loadsSpan = lStart.Sub(t0), lEnd.Sub(lStart)
	}
	if !first.IsZero() {
		s.firstStep = first.Sub(t0)
	}
	return s
}
