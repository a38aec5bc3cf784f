package frontend

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/shabunble/shabunble/frontend/closure"
	"github.com/shabunble/shabunble/frontend/spec"
	bkllb "github.com/shabunble/shabunble/llb"
)

// pathDirs are the folders whose programs shell mode removes.
var pathDirs = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}

// packageManagerState is what apt, dpkg and pip leave besides their
// programs; shell mode removes it wherever the base has it.
var packageManagerState = []string{"/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/etc/apt", "/usr/lib/apt", "/usr/share/pip-whl"}

// isPackageManager reports whether a program name is a package manager's.
func isPackageManager(name string) bool {
	for _, p := range []string{"apt", "dpkg", "pip", "easy_install"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// shellTrim lists the deploy base and decides what shell mode leaves out:
// every program in the PATH folders that is not kept (following symlink
// chains, so `sh` keeps dash, and busybox applets by their names), the
// package managers' state, pip and ensurepip, and setuid/setgid files that
// are not kept (those that are lose the bits).
func (b *builder) shellTrim(ctx context.Context, s *spec.Spec, fsys closure.FS, interp string) (*bkllb.Trim, error) {
	progs, err := listPrograms(ctx, fsys)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	t := &bkllb.Trim{Defang: map[string]fs.FileMode{}}
	for i, k := range s.Keep {
		if isPackageManager(path.Base(k.Name)) {
			return nil, s.Errorf(fmt.Sprintf("keep[%d]", i), "remove it from keep", "%q is a package manager, which shell mode always removes", k.Name)
		}
		chain, err := keepChain(ctx, fsys, k.Name, progs)
		if err != nil {
			return nil, s.Errorf(fmt.Sprintf("keep[%d]", i), "keep only programs the base has, or pick another base.deploy",
				"%q is not in %s: %v", k.Name, s.Base.Deploy, err)
		}
		for _, p := range chain {
			keep[p] = true
		}
		kept := k.Name
		if k.Why != "" {
			kept += " (" + k.Why + ")"
		}
		t.Kept = append(t.Kept, kept)
	}
	if interp != "" {
		chain, err := keepChain(ctx, fsys, interp, progs)
		if err != nil {
			return nil, err
		}
		for _, p := range chain {
			keep[p] = true
		}
	}
	for _, p := range progs.order {
		if !keep[p] {
			t.Remove = append(t.Remove, p)
		}
	}
	for _, p := range append(packageManagerState, pythonInstallers(ctx, fsys)...) {
		if _, err := fsys.Lstat(ctx, p); err == nil {
			t.Remove = append(t.Remove, p)
		}
	}
	err = walk(ctx, fsys, "/", func(p string, st closure.Stat) error {
		if st.Mode&(fs.ModeSetuid|fs.ModeSetgid) == 0 || !st.Mode.IsRegular() {
			return nil
		}
		if keep[p] {
			t.Defang[p] = st.Mode.Perm()
		} else if !slices.Contains(t.Remove, p) {
			t.Remove = append(t.Remove, p)
		}
		return nil
	})
	slices.Sort(t.Remove) // the walk's order is not set; the LLB must be
	return t, err
}

// setuidFiles lists the setuid and setgid files of an image.
func setuidFiles(ctx context.Context, fsys closure.FS) ([]string, error) {
	var out []string
	err := walk(ctx, fsys, "/", func(p string, st closure.Stat) error {
		if st.Mode.IsRegular() && st.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// programs are the entries of the PATH folders, each folder listed once
// even when merged-/usr makes /bin and /usr/bin the same.
type programs struct {
	order  []string
	byName map[string]string
}

func listPrograms(ctx context.Context, fsys closure.FS) (programs, error) {
	ps := programs{byName: map[string]string{}}
	for _, dir := range pathDirs {
		if st, err := fsys.Lstat(ctx, dir); err != nil || !st.Mode.IsDir() {
			continue // missing, or a symlink to a folder listed on its own
		}
		entries, err := fsys.ReadDir(ctx, dir)
		if err != nil {
			return ps, err
		}
		for _, e := range entries {
			if e.Mode.IsDir() {
				continue
			}
			p := path.Join(dir, e.Name)
			ps.order = append(ps.order, p)
			if _, ok := ps.byName[e.Name]; !ok {
				ps.byName[e.Name] = p
			}
		}
	}
	return ps, nil
}

// keepChain is a kept program and every symlink on the way to the file it
// runs, as paths in the PATH folders.
func keepChain(ctx context.Context, fsys closure.FS, name string, ps programs) ([]string, error) {
	p := name
	if !path.IsAbs(name) {
		var ok bool
		if p, ok = ps.byName[name]; !ok {
			return nil, fmt.Errorf("no program %q in %s", name, strings.Join(pathDirs, ", "))
		}
	}
	var chain []string
	for hops := 0; hops < 40; hops++ {
		st, err := fsys.Lstat(ctx, p)
		if err != nil {
			return nil, err
		}
		chain = append(chain, p, canonicalDir(ctx, fsys, p))
		if st.Mode&fs.ModeSymlink == 0 {
			return chain, nil
		}
		target := st.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = target
	}
	return nil, closure.ErrLoop
}

// canonicalDir rewrites p through a symlinked parent folder (merged /usr:
// /bin/sh is listed as /usr/bin/sh).
func canonicalDir(ctx context.Context, fsys closure.FS, p string) string {
	dir := path.Dir(p)
	if st, err := fsys.Lstat(ctx, dir); err == nil && st.Mode&fs.ModeSymlink != 0 {
		target := st.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(dir), target)
		}
		return path.Join(target, path.Base(p))
	}
	return p
}

// pythonInstallers are pip and ensurepip in a base's Python, if any.
func pythonInstallers(ctx context.Context, fsys closure.FS) []string {
	var out []string
	for _, lib := range []string{"/usr/lib", "/usr/local/lib"} {
		entries, _ := fsys.ReadDir(ctx, lib)
		for _, e := range entries {
			if !e.Mode.IsDir() || !strings.HasPrefix(e.Name, "python3") {
				continue
			}
			for _, sub := range []string{"ensurepip", "site-packages/pip", "dist-packages/pip"} {
				out = append(out, path.Join(lib, e.Name, sub))
			}
		}
	}
	return out
}
