package llb_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/shabunble/shabunble/llb"
)

const modeHead = "# syntax=x\nlanguage: python\napp: app\nentrypoint: [boom.py, --loops, \"3\"]\n"

func runtimeFixture() *llb.Runtime {
	return &llb.Runtime{
		Files:   []string{"/usr/bin/python3.13", "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		Links:   map[string]string{"/lib": "usr/lib", "/lib64": "usr/lib64"},
		Dirs:    []string{"/usr/lib/python3.13"},
		Exclude: []string{"site-packages", "dist-packages"},
	}
}

func fileActions(g *graph) (out []*pb.FileAction) {
	for _, d := range g.order {
		if f := g.ops[d].GetFile(); f != nil {
			out = append(out, f.Actions...)
		}
	}
	return out
}

func TestScratchPullsNoDeployBase(t *testing.T) {
	in := input(t, modeHead+"deploy: scratch\n", true)
	in.Deploy = llb.Image{}
	in.Runtime = runtimeFixture()
	res, g := build(t, in)
	for _, d := range g.order {
		if s := g.ops[d].GetSource(); s != nil && strings.Contains(s.Identifier, deployRef) {
			t.Errorf("scratch pulls the deploy base: %s", s.Identifier)
		}
	}
	var mkfiles, links []string
	for _, a := range fileActions(g) {
		if m := a.GetMkfile(); m != nil {
			mkfiles = append(mkfiles, m.Path+"="+string(m.Data))
		}
		if s := a.GetSymlink(); s != nil {
			links = append(links, s.Newpath+"->"+s.Oldpath)
		}
	}
	if tmp := g.copyTo(t, "/tmp"); tmp.cp.ModeStr != "1777" {
		t.Errorf("/tmp mode = %q, want 1777", tmp.cp.ModeStr)
	}
	joined := strings.Join(mkfiles, "\n")
	for _, want := range []string{"/etc/passwd=root:x:0:0:", "nonroot:x:65532:65532:", "/etc/group=root:x:0:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("users files lack %q:\n%s", want, joined)
		}
	}
	if !slices.Equal(links, []string{"/lib->usr/lib", "/lib64->usr/lib64"}) {
		t.Errorf("symlinks = %v", links)
	}
	for _, f := range in.Runtime.Files {
		if c := g.copyTo(t, f); c.cp.Src != f {
			t.Errorf("runtime file %s copied from %s", f, c.cp.Src)
		}
	}
	std := g.copyTo(t, "/usr/lib/python3.13")
	if !slices.Equal(std.cp.ExcludePatterns, []string{"site-packages", "dist-packages"}) || !std.cp.DirCopyContents {
		t.Errorf("stdlib copy = %+v", std.cp)
	}
	if ep := res.Image.Config.Entrypoint; ep[0] != "/usr/local/bin/python3.13" {
		t.Errorf("scratch entrypoint uses %s, want the build interpreter", ep[0])
	}
	if h := res.Image.History; len(h) == 0 || !strings.Contains(h[0].CreatedBy, "runtime closure") {
		t.Errorf("scratch history does not start with the runtime: %+v", h)
	}
}

func TestScratchNeedsRuntime(t *testing.T) {
	in := input(t, modeHead+"deploy: scratch\n", false)
	if _, err := llb.Build(in); err == nil {
		t.Fatal("scratch without a runtime closure built")
	}
}

func TestShellTrimsByCopying(t *testing.T) {
	in := input(t, modeHead+"deploy: shell\nkeep: [sh]\n", false)
	in.Trim = &llb.Trim{
		Remove: []string{"/usr/bin/ls", "/usr/bin/[", "/var/lib/dpkg"},
		Defang: map[string]fs.FileMode{"/usr/bin/su": 0o755},
		Kept:   []string{"sh (scripts)"},
	}
	res, g := build(t, in)
	root := g.copyTo(t, "/")
	if !slices.Equal(root.cp.ExcludePatterns, []string{"usr/bin/ls", `usr/bin/\[`, "var/lib/dpkg"}) {
		t.Errorf("excludes = %q", root.cp.ExcludePatterns)
	}
	if su := g.copyTo(t, "/usr/bin/su"); su.cp.Mode != 0o755 {
		t.Errorf("kept setuid file mode = %o", su.cp.Mode)
	}
	for _, d := range g.order {
		if g.ops[d].GetMerge() != nil {
			t.Error("a shell base with its own interpreter got a merged runtime")
		}
	}
	if h := res.Image.History; len(h) == 0 || !strings.Contains(h[0].CreatedBy, "keep sh (scripts)") {
		t.Errorf("history = %+v", h)
	}
	if res.Image.Config.Entrypoint[0] != "/usr/bin/python3.13" {
		t.Errorf("entrypoint = %q", res.Image.Config.Entrypoint)
	}

	in.Runtime = runtimeFixture()
	res, g = build(t, in)
	var merged bool
	for _, d := range g.order {
		merged = merged || g.ops[d].GetMerge() != nil
	}
	if !merged || res.Image.Config.Entrypoint[0] != "/usr/local/bin/python3.13" {
		t.Errorf("a shell base without an interpreter: merged %v, entrypoint %q", merged, res.Image.Config.Entrypoint)
	}
}

func TestHardening(t *testing.T) {
	in := input(t, modeHead+"writable: [/app/data]\n", true)
	in.Trim = &llb.Trim{Remove: []string{"/usr/bin/passwd"}}
	res, g := build(t, in)
	for _, dest := range []string{"/app", llb.SitePackages} {
		if c := g.copyTo(t, dest); c.cp.ModeStr != "u-s,g-s,go-w" {
			t.Errorf("copy to %s mode %q", dest, c.cp.ModeStr)
		}
	}
	var removed []string
	var mkdirOwner *pb.ChownOpt
	for _, a := range fileActions(g) {
		if r := a.GetRm(); r != nil {
			removed = append(removed, r.Path)
		}
		if m := a.GetMkdir(); m != nil && m.Path == "/app/data" {
			mkdirOwner = m.Owner
		}
	}
	if !slices.Contains(removed, "/usr/bin/passwd") || !slices.Contains(removed, "/app/data") {
		t.Errorf("removed = %v", removed)
	}
	if mkdirOwner == nil || mkdirOwner.User.GetByID() != 65532 || mkdirOwner.Group.GetByID() != 65532 {
		t.Errorf("/app/data owner = %+v", mkdirOwner)
	}
	var hist []string
	for _, h := range res.Image.History {
		hist = append(hist, h.CreatedBy)
	}
	requireIn(t, strings.Join(hist, "\n"), "RM /usr/bin/passwd", "MKDIR --chown=65532:65532 /app/data")
}

func TestBytecode(t *testing.T) {
	in := input(t, modeHead+"python: {bytecode: true}\n", false)
	res, g := build(t, in)
	execs := g.execs()
	if len(execs) != 1 || !strings.Contains(strings.Join(execs[0].Meta.Args, " "), "compileall.compile_dir") {
		t.Fatalf("want one compile step, got %d", len(execs))
	}
	if m := mount(t, execs[0], "/src"); !m.Readonly || m.Selector != "app" {
		t.Errorf("/src mount = %+v", m)
	}
	if ep := res.Image.Config.Entrypoint; ep[1] != "/app/boom.pyc" {
		t.Errorf("entrypoint = %q, want the .pyc", ep)
	}
}

func requireIn(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%q not in:\n%s", w, s)
		}
	}
}
