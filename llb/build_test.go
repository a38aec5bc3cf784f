package llb_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/proto"

	"github.com/shabunble/shabunble/frontend/spec"
	"github.com/shabunble/shabunble/llb"
)

const (
	buildRef  = "docker.io/library/python:3.13-slim-trixie"
	deployRef = "gcr.io/distroless/python3-debian13"
	basePath  = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	indexURL  = "https://pypi.example.com/simple"
)

// specReq and specNoReq put requirements on line 3 and app on line 2.
const specReq = `language: python
app: app
requirements: requirements.txt
entrypoint: [boom.py, --loops, "3"]
env: {GREETING: hello, PORT: 8080}
`

const specNoReq = `language: python
app: app
entrypoint: [boom.py, --loops, "3"]
env: {GREETING: hello, PORT: 8080}
`

// contextState is shared so that digests compare across builds: each
// bk.Local gets a fresh local.unique unless given one.
var contextState = bk.Local("context", bk.LocalUniqueID("shabunble-test"))

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func baseImage(ref, cmd string) llb.Image {
	created := epoch.Add(-time.Hour)
	return llb.Image{
		Ref:   ref,
		State: bk.Image(ref),
		Config: &dockerspec.DockerOCIImage{
			Image: ocispecs.Image{
				Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"},
				History:  []ocispecs.History{{Created: &created, CreatedBy: "base layer of " + ref}},
				RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}},
			},
			Config: dockerspec.DockerOCIImageConfig{ImageConfig: ocispecs.ImageConfig{
				Env:    []string{"PATH=" + basePath, "LANG=C.UTF-8"},
				Cmd:    []string{cmd},
				Labels: map[string]string{"org.opencontainers.image.title": ref},
			}},
		},
	}
}

func input(t testing.TB, src string, hasReq bool) llb.Input {
	t.Helper()
	data := []byte(src)
	s, err := spec.Parse("shabunble.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	specState := bk.Local("dockerfile")
	return llb.Input{
		Spec:            s,
		Context:         contextState,
		Build:           baseImage(buildRef, "python3"),
		Deploy:          baseImage(deployRef, "python3"),
		Platform:        ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		Python:          llb.Python{Version: "3.13", BuildInterpreter: "/usr/local/bin/python3.13", DeployInterpreter: "/usr/bin/python3.13"},
		HasRequirements: hasReq,
		BuildArgs:       map[string]string{"PIP_INDEX_URL": indexURL},
		Labels:          map[string]string{"com.example.team": "boom"},
		SourceMap:       bk.NewSourceMap(&specState, "shabunble.yaml", "YAML", data),
		Epoch:           &epoch,
	}
}

// graph is a marshalled definition, decoded.
type graph struct {
	def   *bk.Definition
	ops   map[digest.Digest]*pb.Op
	order []digest.Digest
	term  *pb.Op // the last op: only an input, the result
}

func build(t testing.TB, in llb.Input) (*llb.Result, *graph) {
	t.Helper()
	res, err := llb.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	def, err := res.State.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{def: def, ops: map[digest.Digest]*pb.Op{}}
	for _, dt := range def.Def {
		op := &pb.Op{}
		if err := proto.Unmarshal(dt, op); err != nil {
			t.Fatal(err)
		}
		d := digest.FromBytes(dt)
		g.ops[d] = op
		g.order = append(g.order, d)
		g.term = op
	}
	return res, g
}

func (g *graph) execs() (out []*pb.ExecOp) {
	for _, d := range g.order {
		if e := g.ops[d].GetExec(); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// copies are the copy actions of all FileOps, with their op's digest.
type copyAction struct {
	dgst digest.Digest
	op   *pb.Op
	cp   *pb.FileActionCopy
	act  *pb.FileAction
}

func (g *graph) copies() (out []copyAction) {
	for _, d := range g.order {
		if f := g.ops[d].GetFile(); f != nil {
			for _, a := range f.Actions {
				if c := a.GetCopy(); c != nil {
					out = append(out, copyAction{d, g.ops[d], c, a})
				}
			}
		}
	}
	return out
}

func (g *graph) copyTo(t testing.TB, dest string) copyAction {
	t.Helper()
	for _, c := range g.copies() {
		if c.cp.Dest == dest {
			return c
		}
	}
	t.Fatalf("no copy to %s", dest)
	return copyAction{}
}

// chain is the image's own FileOps, from the result down to its base
// image, following each FileOp's first input (the file system it changes).
func (g *graph) chain() (files []*pb.Op, base *pb.SourceOp) {
	op := g.ops[digest.Digest(g.term.Inputs[0].Digest)]
	for op.GetFile() != nil {
		files = append(files, op)
		op = g.ops[digest.Digest(op.Inputs[0].Digest)]
	}
	return files, op.GetSource()
}

func (g *graph) source(id string) digest.Digest {
	for _, d := range g.order {
		if s := g.ops[d].GetSource(); s != nil && strings.HasPrefix(s.Identifier, id) {
			return d
		}
	}
	return ""
}

func mount(t testing.TB, e *pb.ExecOp, dest string) *pb.Mount {
	t.Helper()
	for _, m := range e.Mounts {
		if m.Dest == dest {
			return m
		}
	}
	t.Fatalf("no mount at %s", dest)
	return nil
}

func TestPipInstall(t *testing.T) {
	_, g := build(t, input(t, specReq, true))
	execs := g.execs()
	if len(execs) != 1 {
		t.Fatalf("%d ExecOps, want 1", len(execs))
	}
	e := execs[0]
	want := []string{"/usr/local/bin/python3.13", "-m", "pip", "install"}
	if !slices.Equal(e.Meta.Args[:4], want) {
		t.Errorf("args start %q, want %q", e.Meta.Args[:4], want)
	}
	if tail := e.Meta.Args[len(e.Meta.Args)-4:]; !slices.Equal(tail, []string{"--target", "/out/site-packages", "-r", "/shabunble/requirements.txt"}) {
		t.Errorf("args end %q", tail)
	}
	if e.Meta.User != "0:0" || e.Meta.Cwd != "/" {
		t.Errorf("user %q cwd %q", e.Meta.User, e.Meta.Cwd)
	}
	if !slices.Contains(e.Meta.Env, "PATH="+basePath) || !slices.Contains(e.Meta.Env, "PIP_INDEX_URL="+indexURL) {
		t.Errorf("env %q lacks PATH or PIP_INDEX_URL", e.Meta.Env)
	}

	if root := mount(t, e, "/"); root.Input != 0 || root.Readonly {
		t.Errorf("root mount %+v", root)
	}
	cache := mount(t, e, "/root/.cache/pip")
	if cache.MountType != pb.MountType_CACHE || cache.CacheOpt.GetID() != "shabunble-pip-3.13" || cache.CacheOpt.GetSharing() != pb.CacheSharingOpt_LOCKED {
		t.Errorf("cache mount %+v", cache)
	}
	manifest := mount(t, e, "/shabunble")
	if manifest.MountType != pb.MountType_BIND || !manifest.Readonly || manifest.Output != int64(pb.SkipOutput) {
		t.Errorf("manifest mount %+v", manifest)
	}
	out := mount(t, e, "/out")
	if out.MountType != pb.MountType_BIND || out.Readonly || out.Input != int64(pb.Empty) || out.Output < 0 {
		t.Errorf("/out is not a scratch output mount: %+v", out)
	}
	for dest, id := range map[string]string{"/etc/pip.conf": llb.SecretPipConf, "/root/.netrc": llb.SecretNetrc} {
		m := mount(t, e, dest)
		if m.MountType != pb.MountType_SECRET || m.SecretOpt.GetID() != id || !m.SecretOpt.GetOptional() {
			t.Errorf("secret mount %s: %+v", dest, m)
		}
	}
	if llb.SecretPipConf != "pip" || llb.SecretNetrc != "netrc" {
		t.Errorf("secret ids changed")
	}

	// The manifest mount is a FileOp that copies only the requirements
	// file out of the context, so that editing the app keeps pip cached.
	execOp := g.opOf(e)
	mop := g.ops[digest.Digest(execOp.Inputs[manifest.Input].Digest)]
	f := mop.GetFile()
	if f == nil || len(f.Actions) != 1 || f.Actions[0].GetCopy() == nil {
		t.Fatalf("manifest is not one copy: %+v", mop)
	}
	cp := f.Actions[0].GetCopy()
	if cp.Src != "/app/requirements.txt" || cp.Dest != "/requirements.txt" || f.Actions[0].Input != int64(pb.Empty) {
		t.Errorf("manifest copy %q -> %q on input %d", cp.Src, cp.Dest, f.Actions[0].Input)
	}
	if len(mop.Inputs) != 1 || digest.Digest(mop.Inputs[0].Digest) != g.source("local://context") {
		t.Errorf("manifest is not copied from the context")
	}
}

func (g *graph) opOf(e *pb.ExecOp) *pb.Op {
	for _, op := range g.ops {
		if op.GetExec() == e {
			return op
		}
	}
	return nil
}

// An app edit must not invalidate pip: the pip step's digest depends on the
// requirements path only, not on the app's other paths or the entrypoint.
func TestPipCacheKeyIgnoresApp(t *testing.T) {
	pipDigest := func(src string) digest.Digest {
		_, g := build(t, input(t, src, true))
		for _, d := range g.order {
			if g.ops[d].GetExec() != nil {
				return d
			}
		}
		t.Fatal("no exec")
		return ""
	}
	a := pipDigest(specReq)
	edited := strings.Replace(specReq, `boom.py, --loops, "3"`, "other.py", 1)
	edited = strings.Replace(edited, "GREETING: hello", "GREETING: bye", 1) + "user: \"1:1\"\nworkdir: /srv\n"
	if b := pipDigest(edited); a != b {
		t.Errorf("editing the entrypoint, env, user or workdir changes the pip step")
	}
	if c := pipDigest(strings.Replace(specReq, "requirements: requirements.txt", "requirements: req/prod.txt", 1)); c == a {
		t.Errorf("changing the requirements file keeps the pip step")
	}
}

func TestNoPipWithoutRequirements(t *testing.T) {
	res, g := build(t, input(t, specNoReq, false))
	if n := len(g.execs()); n != 0 {
		t.Errorf("%d ExecOps without requirements", n)
	}
	for _, c := range g.copies() {
		if c.cp.Dest == llb.SitePackages || c.cp.Dest == "/requirements.txt" {
			t.Errorf("copy to %s without requirements", c.cp.Dest)
		}
	}
	for _, e := range res.Image.Config.Env {
		if strings.HasPrefix(e, "PYTHONPATH=") {
			t.Errorf("PYTHONPATH set without requirements: %q", e)
		}
	}
}

// The frontend names the default requirements file when the spec gives
// none; Build must still copy only the file, never the whole app.
func TestDefaultRequirementsFile(t *testing.T) {
	_, g := build(t, input(t, specNoReq, true))
	c := g.copyTo(t, "/requirements.txt")
	if c.cp.Src != "/app/requirements.txt" {
		t.Errorf("requirements copied from %q", c.cp.Src)
	}
}

func TestPipEnvOnlyWithBuildArg(t *testing.T) {
	in := input(t, specReq, true)
	in.BuildArgs = map[string]string{"UNRELATED": "x"}
	_, g := build(t, in)
	for _, e := range g.execs()[0].Meta.Env {
		if strings.HasPrefix(e, "PIP_") || strings.HasPrefix(e, "UNRELATED") {
			t.Errorf("exec env has %q without the build arg", e)
		}
	}
	in.BuildArgs = map[string]string{"PIP_EXTRA_INDEX_URL": "https://extra", "PIP_TRUSTED_HOST": "extra"}
	_, g = build(t, in)
	env := g.execs()[0].Meta.Env
	if !slices.Contains(env, "PIP_EXTRA_INDEX_URL=https://extra") || !slices.Contains(env, "PIP_TRUSTED_HOST=extra") {
		t.Errorf("exec env %q", env)
	}
}

func TestDeployCopies(t *testing.T) {
	_, g := build(t, input(t, specReq, true))
	files, base := g.chain()
	if base == nil || base.Identifier != "docker-image://"+deployRef+":latest" {
		t.Fatalf("image is not built on the deploy base: %+v", base)
	}
	if len(files) != 2 {
		t.Fatalf("%d FileOps on the deploy base, want 2", len(files))
	}
	for _, c := range []struct{ dest, src string }{{llb.SitePackages, "/site-packages"}, {"/app", "/app"}} {
		a := g.copyTo(t, c.dest)
		if a.cp.Src != c.src || !a.cp.DirCopyContents || !a.cp.CreateDestPath {
			t.Errorf("copy to %s: %+v", c.dest, a.cp)
		}
		if u, gr := a.cp.Owner.GetUser().GetByID(), a.cp.Owner.GetGroup().GetByID(); a.cp.Owner == nil || a.cp.Owner.User == nil || a.cp.Owner.Group == nil || u != 0 || gr != 0 {
			t.Errorf("copy to %s owned by %+v, want 0:0", c.dest, a.cp.Owner)
		}
	}
	if llb.SitePackages != "/opt/shabunble/site-packages" {
		t.Errorf("SitePackages = %q", llb.SitePackages)
	}
	// The site-packages come from the pip step's /out mount.
	sp := g.copyTo(t, llb.SitePackages)
	from := g.ops[digest.Digest(sp.op.Inputs[sp.act.SecondaryInput].Digest)]
	if from.GetExec() == nil {
		t.Errorf("site-packages are not copied from the pip step")
	}
	// The app comes from the context.
	app := g.copyTo(t, "/app")
	if digest.Digest(app.op.Inputs[app.act.SecondaryInput].Digest) != g.source("local://context") {
		t.Errorf("app is not copied from the context")
	}
}

func TestSourceLocations(t *testing.T) {
	in := input(t, specReq, true)
	_, g := build(t, in)
	src := g.def.Source
	if src == nil || len(src.Infos) != 1 {
		t.Fatalf("definition has no source info: %+v", src)
	}
	if info := src.Infos[0]; info.Filename != "shabunble.yaml" || info.Language != "YAML" || string(info.Data) != specReq {
		t.Errorf("source info %q %q", info.Filename, info.Language)
	}
	line := func(d digest.Digest) int32 {
		locs := src.Locations[string(d)]
		if locs == nil || len(locs.Locations) == 0 || len(locs.Locations[0].Ranges) == 0 {
			return 0
		}
		l := locs.Locations[0]
		if l.SourceIndex != 0 {
			t.Errorf("source index %d", l.SourceIndex)
		}
		return l.Ranges[0].Start.Line
	}
	for _, c := range g.copies() {
		want := int32(3) // requirements
		if c.cp.Dest == "/app" {
			want = 2 // app
		}
		if got := line(c.dgst); got != want {
			t.Errorf("copy to %s at line %d, want %d", c.cp.Dest, got, want)
		}
	}
	for _, d := range g.order {
		if g.ops[d].GetExec() != nil {
			if got := line(d); got != 3 {
				t.Errorf("pip step at line %d, want 3", got)
			}
			if name := g.def.Metadata[d].Description["llb.customname"]; name != "[build] pip install -r app/requirements.txt" {
				t.Errorf("pip step named %q", name)
			}
		}
	}
}

func TestNoCacheBuildStage(t *testing.T) {
	in := input(t, specReq, true)
	in.NoCache = func(stage string) bool { return stage == llb.StageBuild }
	_, g := build(t, in)
	files, _ := g.chain()
	deploy := map[digest.Digest]bool{}
	for _, d := range g.order {
		for _, f := range files {
			if g.ops[d] == f {
				deploy[d] = true
			}
		}
	}
	var n int
	for _, d := range g.order {
		op := g.ops[d]
		if op.GetSource() != nil || op == g.term {
			continue
		}
		ignore := g.def.Metadata[d].IgnoreCache
		if deploy[d] && ignore {
			t.Errorf("deploy op %s ignores the cache", g.def.Metadata[d].Description["llb.customname"])
		}
		if !deploy[d] {
			n++
			if !ignore {
				t.Errorf("build op %s keeps the cache", g.def.Metadata[d].Description["llb.customname"])
			}
		}
	}
	if n != 2 {
		t.Errorf("%d build-stage ops, want 2 (manifest copy, pip)", n)
	}

	// Without NoCache nothing ignores the cache.
	_, g = build(t, input(t, specReq, true))
	for d, m := range g.def.Metadata {
		if m.IgnoreCache {
			t.Errorf("op %s ignores the cache", d)
		}
	}
}

func TestImageConfig(t *testing.T) {
	for _, hasReq := range []bool{true, false} {
		src := specNoReq
		if hasReq {
			src = specReq
		}
		in := input(t, src, hasReq)
		baseHist := len(in.Deploy.Config.History)
		res, g := build(t, in)
		img := res.Image
		cfg := img.Config
		if want := []string{"/usr/bin/python3.13", "/app/boom.py", "--loops", "3"}; !slices.Equal(cfg.Entrypoint, want) {
			t.Errorf("Entrypoint %q, want %q", cfg.Entrypoint, want)
		}
		if cfg.Cmd != nil || cfg.Shell != nil {
			t.Errorf("Cmd %q Shell %q", cfg.Cmd, cfg.Shell)
		}
		if cfg.User != "65532:65532" || cfg.WorkingDir != "/app" {
			t.Errorf("User %q WorkingDir %q", cfg.User, cfg.WorkingDir)
		}
		if cfg.Env[0] != "PATH="+basePath || !slices.Contains(cfg.Env, "LANG=C.UTF-8") {
			t.Errorf("base env lost: %q", cfg.Env)
		}
		for _, e := range []string{"GREETING=hello", "PORT=8080"} {
			if !slices.Contains(cfg.Env, e) {
				t.Errorf("env %q lacks %q", cfg.Env, e)
			}
		}
		if got := slices.Contains(cfg.Env, "PYTHONPATH="+llb.SitePackages); got != hasReq {
			t.Errorf("requirements %v: PYTHONPATH in env %v", hasReq, got)
		}
		if cfg.Labels["com.example.team"] != "boom" || cfg.Labels["org.opencontainers.image.title"] != deployRef {
			t.Errorf("labels %v", cfg.Labels)
		}
		// Build args are for pip only.
		if js := jsonOf(t, img); strings.Contains(js, "PIP_INDEX_URL") || strings.Contains(js, indexURL) {
			t.Errorf("a build arg is in the image config: %s", js)
		}
		if img.Created == nil || !img.Created.Equal(epoch) {
			t.Errorf("Created %v", img.Created)
		}
		// History: the base's, then ours, with one non-empty entry per
		// layer-producing FileOp.
		if len(img.History) <= baseHist || img.History[0].CreatedBy != "base layer of "+deployRef {
			t.Fatalf("history %+v", img.History)
		}
		nonEmpty := 0
		for _, h := range img.History[baseHist:] {
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		files, _ := g.chain()
		if nonEmpty != len(files) {
			t.Errorf("requirements %v: %d non-empty history entries, %d FileOps", hasReq, nonEmpty, len(files))
		}
		// The base config is not changed.
		if in.Deploy.Config.Config.Cmd[0] != "python3" || len(in.Deploy.Config.History) != baseHist || len(in.Deploy.Config.Config.Labels) != 1 {
			t.Errorf("the base image config was changed")
		}
	}
}

func TestTargetBuild(t *testing.T) {
	in := input(t, specReq, true)
	in.Target = llb.StageBuild
	res, g := build(t, in)
	_, base := g.chain()
	if base == nil || base.Identifier != "docker-image://"+buildRef {
		t.Errorf("build target is on %+v", base)
	}
	if res.Image.Config.Entrypoint[0] != "/usr/local/bin/python3.13" {
		t.Errorf("build target entrypoint %q", res.Image.Config.Entrypoint)
	}
	if res.Image.History[0].CreatedBy != "base layer of "+buildRef {
		t.Errorf("build target history %+v", res.Image.History)
	}
	for d, m := range g.def.Metadata {
		if name := m.Description["llb.customname"]; name != "" && !strings.HasPrefix(name, "[build] ") {
			t.Errorf("op %s in the build target is named %q", d, name)
		}
	}
}

func TestUnknownTarget(t *testing.T) {
	in := input(t, specReq, true)
	in.Target = "nope"
	if _, err := llb.Build(in); err == nil || !strings.Contains(err.Error(), `unknown target "nope"`) {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkParseAndLLB(b *testing.B) {
	data := []byte(specReq)
	in := input(b, specReq, true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := spec.Parse("shabunble.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		in.Spec = s
		res, err := llb.Build(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := res.State.Marshal(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}
