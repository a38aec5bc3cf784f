package main

import (
	"archive/tar"
	"os"
	"testing"
	"time"
)

func TestCountsMergedUsr(t *testing.T) {
	fs := fsys{}
	add := func(name string, typ byte, mode int64, link string) {
		fs[clean(name)] = &tar.Header{Name: name, Typeflag: typ, Mode: mode, Linkname: link}
	}
	add("bin", tar.TypeSymlink, 0o777, "usr/bin")
	add("sbin", tar.TypeSymlink, 0o777, "/usr/sbin")
	add("usr/", tar.TypeDir, 0o755, "")
	add("usr/bin/", tar.TypeDir, 0o755, "")
	add("usr/sbin/", tar.TypeDir, 0o755, "")
	add("usr/local/bin", tar.TypeSymlink, 0o777, "../bin") // -> /usr/bin again
	add("usr/bin/python3.13", tar.TypeReg, 0o755, "")
	add("usr/bin/python3", tar.TypeSymlink, 0o777, "python3.13") // a symlink: not counted
	add("usr/bin/readme", tar.TypeReg, 0o644, "")                // no x bit
	add("usr/bin/py-hard", tar.TypeLink, 0, "usr/bin/python3.13")
	add("usr/sbin/tool", tar.TypeReg, 0o700, "")
	add("usr/lib/x.so", tar.TypeReg, 0o755, "") // not a PATH folder
	files, execs := fs.counts()
	if files != 5 || execs != 3 {
		t.Fatalf("files, execs = %d, %d; want 5, 3", files, execs)
	}
	if got := fs.resolve("/bin/python3"); got != "/usr/bin/python3.13" {
		t.Fatalf("resolve = %q", got)
	}
}

func TestFrontendTiming(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(1000, 0).Add(time.Duration(ms) * time.Millisecond) }
	vs := []*vertex{
		{Name: "[internal] load build definition from shabunble.yaml", Started: at(0), Completed: at(10)},
		{Name: "resolve image config for docker-image://ghcr.io/x/y:1", Started: at(12), Completed: at(20)},
		{Name: "docker-image://ghcr.io/x/y:1@sha256:abc", Started: at(21), Completed: at(300)},
		{Name: "[internal] load .dockerignore", Started: at(420), Completed: at(430)},
		{Name: "[internal] load build context", Started: at(440), Completed: at(450)},
	}
	g, s, ok := frontendTiming(vs, "ghcr.io/x/y:1")
	if !ok || g != 120*time.Millisecond || s != 420*time.Millisecond {
		t.Fatalf("frontendTiming = %v, %v, %v", g, s, ok)
	}
	raw := `{"vertexes":[{"digest":"sha256:1","name":"a","started":"2026-01-01T00:00:00Z"}]}
not json
{"vertexes":[{"digest":"sha256:1","name":"a","started":"2026-01-01T00:00:00Z","completed":"2026-01-01T00:00:01Z","cached":true}]}`
	got := parseRawJSON([]byte(raw))
	if len(got) != 1 || got[0].Completed.Sub(got[0].Started) != time.Second || !got[0].Cached {
		t.Fatalf("parseRawJSON = %+v", got)
	}
}

func TestSplitRefAndEntrypoint(t *testing.T) {
	if r, tag := splitRef("ghcr.io/shabunble/shabunble:1"); r != "shabunble/shabunble" || tag != "1" {
		t.Fatalf("splitRef = %q %q", r, tag)
	}
	if r, tag := splitRef("127.0.0.1:5000/a/b"); r != "a/b" || tag != "latest" {
		t.Fatalf("splitRef = %q %q", r, tag)
	}
	if !isBaseLoad("[stage-1 1/3] FROM gcr.io/distroless/python3-debian13:latest@sha256:c19") ||
		!isBaseLoad("[internal] load docker.io/library/python:3.13-slim-trixie") ||
		isBaseLoad("[internal] load metadata for docker.io/library/python:3.13-slim-trixie") ||
		isBaseLoad("[internal] load build context") {
		t.Fatal("isBaseLoad")
	}
	if m := median([]time.Duration{3, 1, 2}); m != 2 {
		t.Fatalf("median = %v", m)
	}
	spec := t.TempDir() + "/shabunble.yaml"
	if err := os.WriteFile(spec, []byte("language: python\napp: app\nentrypoint: [boom.py, --loops, \"3\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := entrypointFile(spec); err != nil || got != "app/boom.py" {
		t.Fatalf("entrypointFile = %q, %v", got, err)
	}
}
