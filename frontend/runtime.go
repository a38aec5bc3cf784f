package frontend

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/shabunble/shabunble/frontend/closure"
	bkllb "github.com/shabunble/shabunble/llb"
	"golang.org/x/sync/errgroup"
)

// triplets are the Debian multiarch folder names of each architecture.
var triplets = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "arm": "arm-linux-gnueabihf",
	"386": "i386-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu", "riscv64": "riscv64-linux-gnu",
}

// runtimeExtras are copied along with the interpreter when the build image
// has them: CA certificates, and the loader's cache and configuration, so
// that libraries outside the default folders (/usr/local/lib) are found.
var runtimeExtras = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/ld.so.cache", "/etc/ld.so.conf"}

// pythonRuntime computes, from the build image's files, what the build
// interpreter needs to run in an empty image: its ELF closure, its whole
// standard library with the libraries of its extension modules, and the
// libraries that native extensions of the installed dependencies need.
func (b *builder) pythonRuntime(ctx context.Context, in bkllb.Input, p ocispecs.Platform) (*bkllb.Runtime, error) {
	ref, err := b.solve(ctx, in.Build.State)
	if err != nil {
		return nil, err
	}
	img := newRefFS(ref)
	r := closure.NewResolver(ctx, img, triplets[p.Architecture])
	interp := in.Python.BuildInterpreter
	if err := r.Add(ctx, interp); err != nil {
		return nil, fmt.Errorf("runtime closure of %s: %w", interp, err)
	}
	for _, f := range runtimeExtras {
		if _, err := img.Lstat(ctx, f); err == nil {
			if err := r.Add(ctx, f); err != nil {
				return nil, err
			}
		}
	}
	stdlib := path.Join(path.Dir(path.Dir(interp)), "lib", "python"+in.Python.Version)
	if err := addNativeNeeds(ctx, r, img, path.Join(stdlib, "lib-dynload")); err != nil {
		return nil, err
	}
	if st, ok := bkllb.PythonDeps(in); ok {
		ref, err := b.solve(ctx, st)
		if err != nil {
			return nil, err
		}
		if err := addNativeNeeds(ctx, r, newRefFS(ref), "/site-packages"); err != nil {
			return nil, err
		}
	}
	c := r.Closure()
	return &bkllb.Runtime{
		Files: c.Files, Links: c.Links, Dirs: []string{stdlib},
		// Third-party packages of the build image, pip among them, stay behind.
		Exclude: []string{"site-packages", "dist-packages"},
	}, nil
}

// addNativeNeeds adds the libraries that every shared object under dir of
// fsys needs. The folder itself is copied whole by the caller.
func addNativeNeeds(ctx context.Context, r *closure.Resolver, fsys closure.FS, dir string) error {
	return walk(ctx, fsys, dir, func(p string, st closure.Stat) error {
		if st.Mode.IsRegular() && strings.Contains(path.Base(p), ".so") {
			return r.AddNeeds(ctx, fsys, p, st.Size)
		}
		return nil
	})
}

// walkParallel is how many folders walk lists at once: each listing is a
// gateway round trip, and a base image has hundreds of folders.
const walkParallel = 16

// walk calls fn for every file under dir, without following symlinks. The
// folders are listed concurrently; fn is called for one file at a time, in
// no set order, so callers sort what they collect.
func walk(ctx context.Context, fsys closure.FS, dir string, fn func(string, closure.Stat) error) error {
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(walkParallel)
	var visit func(dir string) error
	visit = func(dir string) error {
		entries, err := fsys.ReadDir(ctx, dir)
		if err != nil {
			return nil // a missing folder has nothing in it
		}
		for _, e := range entries {
			p := path.Join(dir, e.Name)
			if e.Mode.IsDir() {
				// A full pool lists the folder here rather than wait for
				// a slot that this very goroutine may hold.
				if !eg.TryGo(func() error { return visit(p) }) {
					if err := visit(p); err != nil {
						return err
					}
				}
				continue
			}
			mu.Lock()
			err := fn(p, e)
			mu.Unlock()
			if err != nil {
				return err
			}
		}
		return nil
	}
	eg.Go(func() error { return visit(dir) })
	return eg.Wait()
}
