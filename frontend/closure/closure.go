// Package closure computes the runtime closure of programs in an image: the
// files they need to run, found from what the image really contains. It
// reads ELF headers (PT_INTERP, DT_NEEDED, DT_RUNPATH/DT_RPATH) with
// debug/elf and follows every symlink on the way, so that the closure can be
// copied into an empty image and still run. It knows nothing of BuildKit:
// the frontend gives it a file system backed by a gateway reference.
package closure

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// FS is a read-only view of an image's files.
type FS interface {
	// Lstat describes p without following a final symlink.
	Lstat(ctx context.Context, p string) (Stat, error)
	// ReadDir lists the entries of the folder p.
	ReadDir(ctx context.Context, p string) ([]Stat, error)
	// ReaderAt reads the file p, of the given size.
	ReaderAt(ctx context.Context, p string, size int64) io.ReaderAt
}

// Stat is what the closure needs to know of a file.
type Stat struct {
	Name     string
	Mode     fs.FileMode
	Size     int64
	Linkname string
}

// Closure is a set of files to copy from an image, each at its own path.
type Closure struct {
	// Files are regular files, at paths with no symlink in them.
	Files []string
	// Links maps each symlink met on the way to its target, as written.
	Links map[string]string
	// Missing are libraries that were needed but not found.
	Missing []string
}

// Resolver adds programs and their libraries to a closure.
type Resolver struct {
	fs      FS
	dirs    []string
	files   map[string]bool
	links   map[string]string
	missing map[string]bool
}

// NewResolver returns a Resolver that looks for libraries in the image's
// loader configuration (/etc/ld.so.conf and what it includes) and then in
// the loader's default folders for the architecture triplet (such as
// x86_64-linux-gnu).
func NewResolver(ctx context.Context, fsys FS, triplet string) *Resolver {
	r := &Resolver{fs: fsys, files: map[string]bool{}, links: map[string]string{}, missing: map[string]bool{}}
	r.dirs = append(r.ldConf(ctx, "/etc/ld.so.conf", 0),
		"/lib/"+triplet, "/usr/lib/"+triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	return r
}

// Closure returns what has been added so far, sorted.
func (r *Resolver) Closure() Closure {
	c := Closure{Links: r.links}
	for f := range r.files {
		c.Files = append(c.Files, f)
	}
	for m := range r.missing {
		c.Missing = append(c.Missing, m)
	}
	slices.Sort(c.Files)
	slices.Sort(c.Missing)
	return c
}

// Add adds the file p, and when it is an ELF object its loader and its
// libraries, recursively.
func (r *Resolver) Add(ctx context.Context, p string) error {
	real, st, err := r.resolve(ctx, p)
	if err != nil {
		return err
	}
	if r.files[real] {
		return nil
	}
	r.files[real] = true
	return r.addNeeds(ctx, r.fs, real, st.Size, nil)
}

// AddNeeds adds the loader and libraries that the ELF file p of fsys (another
// file system, such as the installed dependencies) needs from the image.
// Libraries found next to p through its $ORIGIN run path are left to the
// caller, who copies fsys whole.
func (r *Resolver) AddNeeds(ctx context.Context, fsys FS, p string, size int64) error {
	return r.addNeeds(ctx, fsys, p, size, fsys)
}

func (r *Resolver) addNeeds(ctx context.Context, fsys FS, p string, size int64, local FS) error {
	f, err := elf.NewFile(fsys.ReaderAt(ctx, p, size))
	if err != nil {
		return nil // not ELF: a plain file
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			interp, err := io.ReadAll(prog.Open())
			if err != nil {
				return fmt.Errorf("%s: read PT_INTERP: %w", p, err)
			}
			if err := r.Add(ctx, strings.TrimRight(string(interp), "\x00")); err != nil {
				return fmt.Errorf("%s: loader: %w", p, err)
			}
		}
	}
	needed, _ := f.DynString(elf.DT_NEEDED)
	runpaths := r.runpaths(f, p)
	for _, lib := range needed {
		if local != nil && foundIn(ctx, local, runpaths, lib) {
			continue
		}
		if err := r.addLibrary(ctx, lib, runpaths); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (r *Resolver) runpaths(f *elf.File, p string) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", "$ORIGIN"), "$ORIGIN", path.Dir(p))
				if d != "" {
					dirs = append(dirs, path.Clean(d))
				}
			}
		}
	}
	return dirs
}

func foundIn(ctx context.Context, fsys FS, dirs []string, lib string) bool {
	for _, d := range dirs {
		if _, err := fsys.Lstat(ctx, path.Join(d, lib)); err == nil {
			return true
		}
	}
	return false
}

func (r *Resolver) addLibrary(ctx context.Context, lib string, runpaths []string) error {
	if strings.Contains(lib, "/") {
		return r.Add(ctx, lib)
	}
	for _, d := range append(runpaths, r.dirs...) {
		p := path.Join(d, lib)
		if _, _, err := r.resolve(ctx, p); err == nil {
			return r.Add(ctx, p)
		}
	}
	r.missing[lib] = true
	return nil
}

// ErrLoop is returned for a symlink chain that does not end.
var ErrLoop = errors.New("too many levels of symbolic links")

// resolve follows every symlink in p, remembering each, and returns the
// real path of a regular file.
func (r *Resolver) resolve(ctx context.Context, p string) (string, Stat, error) {
	rest := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(rest) > 0; {
		next := path.Join(cur, rest[0])
		rest = rest[1:]
		st, err := r.fs.Lstat(ctx, next)
		if err != nil {
			return "", Stat{}, err
		}
		if st.Mode&fs.ModeSymlink == 0 {
			if len(rest) == 0 {
				if !st.Mode.IsRegular() {
					return "", Stat{}, fmt.Errorf("%s is not a regular file", next)
				}
				return next, st, nil
			}
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", Stat{}, fmt.Errorf("%s: %w", p, ErrLoop)
		}
		r.links[next] = st.Linkname
		target := st.Linkname
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		cur = "/"
	}
	return "", Stat{}, fmt.Errorf("%s is a folder", p)
}

// ldConf reads the loader's folder list, following include lines.
func (r *Resolver) ldConf(ctx context.Context, file string, depth int) []string {
	st, err := r.fs.Lstat(ctx, file)
	if err != nil || depth > 4 || !st.Mode.IsRegular() {
		return nil
	}
	dt, err := io.ReadAll(io.NewSectionReader(r.fs.ReaderAt(ctx, file, st.Size), 0, st.Size))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(dt), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "include "):
			dirs = append(dirs, r.ldInclude(ctx, strings.TrimSpace(strings.TrimPrefix(line, "include ")), depth)...)
		case path.IsAbs(line):
			dirs = append(dirs, path.Clean(line))
		}
	}
	return dirs
}

func (r *Resolver) ldInclude(ctx context.Context, pattern string, depth int) []string {
	entries, err := r.fs.ReadDir(ctx, path.Dir(pattern))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		if ok, _ := path.Match(path.Base(pattern), e.Name); ok {
			dirs = append(dirs, r.ldConf(ctx, path.Join(path.Dir(pattern), e.Name), depth+1)...)
		}
	}
	return dirs
}
