package closure

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func triplet() string {
	if runtime.GOARCH == "arm64" {
		return "aarch64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

// TestHostProgram computes the closure of a real dynamically linked program
// of this machine and checks the loader, libc and the symlinks on the way.
func TestHostProgram(t *testing.T) {
	prog := "/usr/bin/ls"
	if _, err := os.Stat(prog); err != nil {
		t.Skip("no /usr/bin/ls")
	}
	ctx := context.Background()
	r := NewResolver(ctx, DirFS("/"), triplet())
	if err := r.Add(ctx, prog); err != nil {
		t.Fatal(err)
	}
	c := r.Closure()
	var hasLibc, hasLoader bool
	for _, f := range c.Files {
		hasLibc = hasLibc || strings.HasSuffix(f, "/libc.so.6")
		hasLoader = hasLoader || strings.Contains(f, "/ld-linux")
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file: %v", f, err)
		}
	}
	if !hasLibc || !hasLoader {
		t.Errorf("closure lacks libc or the loader: %v", c.Files)
	}
	if len(c.Missing) > 0 {
		t.Errorf("missing libraries: %v", c.Missing)
	}
	// The loader is named through at least one symlink (/lib64 or its file).
	if len(c.Links) == 0 {
		t.Errorf("no symlinks recorded: %v", c.Files)
	}
	for link, target := range c.Links {
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Errorf("link %s -> %q, want %q (%v)", link, target, got, err)
		}
	}
}

func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("b", dir+"/a"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", dir+"/b"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := NewResolver(ctx, DirFS(dir), triplet())
	if err := r.Add(ctx, "/a"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Fatalf("want a loop error, got %v", err)
	}
}

func TestPlainFileAndMissingLibrary(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/script", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := NewResolver(ctx, DirFS(dir), triplet())
	if err := r.Add(ctx, "/script"); err != nil {
		t.Fatal(err)
	}
	if c := r.Closure(); !slices.Equal(c.Files, []string{"/script"}) {
		t.Fatalf("closure %v", c.Files)
	}
	// A real ELF copied into an empty root needs libraries that are not there.
	ls, err := os.ReadFile("/usr/bin/ls")
	if err != nil {
		t.Skip("no /usr/bin/ls")
	}
	if err := os.WriteFile(dir+"/ls", ls, 0o755); err != nil {
		t.Fatal(err)
	}
	err = r.Add(ctx, "/ls")
	if err == nil && len(r.Closure().Missing) == 0 {
		t.Fatal("libraries of ls reported neither missing nor as an error in an empty root")
	}
}
