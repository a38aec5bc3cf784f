package frontend

import (
	"context"
	"os"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/shabunble/shabunble/frontend/spec"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// checkApp checks the spec's paths against the build context: the app
// folder, the entrypoint file and the requirements file must be there, and
// none of them may be a symlink, which could lead out of the context. It
// reports whether the app has a requirements file, and fills in the default
// name when the spec gave none.
func checkApp(ctx context.Context, ref client.Reference, s *spec.Spec) (bool, error) {
	if err := checkNoSymlinks(ctx, ref, s, "app", s.App); err != nil {
		return false, err
	}
	st, err := stat(ctx, ref, s.App)
	if err != nil || !os.FileMode(st.Mode).IsDir() {
		return false, s.Errorf("app", "name a folder of the build context", "app folder %q is not in the build context", s.App)
	}
	ep := path.Join(s.App, s.Entrypoint[0])
	if err := checkNoSymlinks(ctx, ref, s, "entrypoint[0]", ep); err != nil {
		return false, err
	}
	if st, err := stat(ctx, ref, ep); err != nil || !os.FileMode(st.Mode).IsRegular() {
		return false, s.Errorf("entrypoint[0]", "name the program file relative to app", "entrypoint file %q is not in app %q", s.Entrypoint[0], s.App)
	}
	if s.Requirements == "" {
		if st, err := stat(ctx, ref, path.Join(s.App, spec.DefaultRequirements)); err == nil && os.FileMode(st.Mode).IsRegular() {
			s.Requirements = spec.DefaultRequirements
			return true, nil
		}
		return false, nil
	}
	req := path.Join(s.App, s.Requirements)
	if err := checkNoSymlinks(ctx, ref, s, "requirements", req); err != nil {
		return false, err
	}
	if st, err := stat(ctx, ref, req); err != nil || !os.FileMode(st.Mode).IsRegular() {
		return false, s.Errorf("requirements", "name the manifest relative to app, or remove the key", "requirements file %q is not in app %q", s.Requirements, s.App)
	}
	return true, nil
}

// checkNoSymlinks fails when any part of p is a symlink.
func checkNoSymlinks(ctx context.Context, ref client.Reference, s *spec.Spec, key, p string) error {
	if p == "." {
		return nil
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		st, err := lstat(ctx, ref, sub)
		if err != nil || st == nil {
			return nil // missing: reported by the caller
		}
		if os.FileMode(st.Mode)&os.ModeSymlink != 0 {
			return s.Errorf(key, "name the real file or folder, inside the build context",
				"%q is a symlink (to %q); shabunble does not follow symlinks, which can lead out of the build context", sub, st.Linkname)
		}
	}
	return nil
}

func stat(ctx context.Context, ref client.Reference, p string) (*fstypes.Stat, error) {
	return ref.StatFile(ctx, client.StatRequest{Path: p})
}

// lstat is stat without following a final symlink: StatFile resolves
// symlinks (bounded to the root), but a directory listing does not.
func lstat(ctx context.Context, ref client.Reference, p string) (*fstypes.Stat, error) {
	entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: path.Dir(p), IncludePattern: path.Base(p)})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Path == path.Base(p) {
			return e, nil
		}
	}
	return nil, nil
}
