package frontend

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/shabunble/shabunble/frontend/closure"
	"github.com/shabunble/shabunble/frontend/spec"
)

// checkApp checks the spec's paths against the build context: the app
// folder, the entrypoint file and the requirements file must be there, and
// none of them may be a symlink, which could lead out of the context. It
// reports whether the app has a requirements file, and fills in the default
// name when the spec gave none.
func checkApp(ctx context.Context, fsys closure.FS, s *spec.Spec) (bool, error) {
	if st, ok, err := lstatNoLinks(ctx, fsys, s, "app", s.App); err != nil {
		return false, err
	} else if !ok || !st.Mode.IsDir() {
		return false, s.Errorf("app", "name a folder of the build context", "app folder %q is not in the build context", s.App)
	}
	ep := path.Join(s.App, s.Entrypoint[0])
	if st, ok, err := lstatNoLinks(ctx, fsys, s, "entrypoint[0]", ep); err != nil {
		return false, err
	} else if !ok || !st.Mode.IsRegular() {
		return false, s.Errorf("entrypoint[0]", "name the program file relative to app", "entrypoint file %q is not in app %q", s.Entrypoint[0], s.App)
	}
	if s.Requirements == "" {
		if st, err := fsys.Lstat(ctx, path.Join(s.App, spec.DefaultRequirements)); err == nil && st.Mode.IsRegular() {
			s.Requirements = spec.DefaultRequirements
			return true, nil
		}
		return false, nil
	}
	st, ok, err := lstatNoLinks(ctx, fsys, s, "requirements", path.Join(s.App, s.Requirements))
	if err != nil {
		return false, err
	}
	if !ok || !st.Mode.IsRegular() {
		return false, s.Errorf("requirements", "name the manifest relative to app, or remove the key", "requirements file %q is not in app %q", s.Requirements, s.App)
	}
	return true, nil
}

// lstatNoLinks describes p, a path of the context, and whether it exists.
// It fails when any part of p is a symlink.
func lstatNoLinks(ctx context.Context, fsys closure.FS, s *spec.Spec, key, p string) (closure.Stat, bool, error) {
	if p == "." {
		return closure.Stat{Mode: fs.ModeDir}, true, nil
	}
	parts := strings.Split(p, "/")
	var st closure.Stat
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		var err error
		if st, err = fsys.Lstat(ctx, sub); err != nil {
			return closure.Stat{}, false, nil
		}
		if st.Mode&fs.ModeSymlink != 0 {
			return closure.Stat{}, false, s.Errorf(key, "name the real file or folder, inside the build context",
				"%q is a symlink (to %q); shabunble does not follow symlinks, which can lead out of the build context", sub, st.Linkname)
		}
	}
	return st, true, nil
}
