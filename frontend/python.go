package frontend

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/shabunble/shabunble/frontend/spec"
	bkllb "github.com/shabunble/shabunble/llb"
)

var pythonNameRe = regexp.MustCompile(`^python(3\.[0-9]+)$`)

// pythonDirs are searched in order: the official images install their own
// Python in /usr/local/bin, distro packages in /usr/bin.
var pythonDirs = []string{"/usr/local/bin", "/usr/bin"}

// interpreter is a python3.N program found in an image.
type interpreter struct {
	Path, Version string
}

// findPython looks in the image's files for its python3.N interpreter.
// When the image's entrypoint names one, that one wins; otherwise the first
// found in pythonDirs does.
func (b *builder) findPython(ctx context.Context, img bkllb.Image) (interpreter, error) {
	ref, err := b.solve(ctx, img.State)
	if err != nil {
		return interpreter{}, err
	}
	return findPythonIn(ctx, ref, img)
}

// findPythonIn is findPython on an image already solved to ref.
func findPythonIn(ctx context.Context, ref client.Reference, img bkllb.Image) (interpreter, error) {
	var found []interpreter
	for _, dir := range pythonDirs {
		entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: dir, IncludePattern: "python3.*"})
		if err != nil {
			continue
		}
		for _, e := range entries {
			if m := pythonNameRe.FindStringSubmatch(e.Path); m != nil {
				found = append(found, interpreter{Path: path.Join(dir, e.Path), Version: m[1]})
			}
		}
	}
	if len(found) == 0 {
		return interpreter{}, fmt.Errorf("image %s has no python3.N interpreter in %v", img.Ref, pythonDirs)
	}
	if img.Config != nil && len(img.Config.Config.Entrypoint) > 0 {
		ep := img.Config.Config.Entrypoint[0]
		if i := slices.IndexFunc(found, func(p interpreter) bool { return p.Path == ep }); i >= 0 {
			return found[i], nil
		}
	}
	return found[0], nil
}

// samePython insists that the two interpreters are the same major.minor,
// since the packages installed with one must import in the other.
func samePython(s *spec.Spec, bp, dp interpreter) error {
	if bp.Version == dp.Version {
		return nil
	}
	return s.Errorf("base.build", "pick a build and a deploy image with the same Python major.minor",
		"the build image %s has Python %s (%s) but the deploy image %s has Python %s (%s)",
		s.Base.Build, bp.Version, bp.Path, s.Base.Deploy, dp.Version, dp.Path)
}

// solve solves st to a reference whose files can be read. It is evaluated
// now: a lazy solve would only pull an image at the first read, so two
// images solved side by side would still be pulled one after the other.
func (b *builder) solve(ctx context.Context, st llb.State) (client.Reference, error) {
	return b.solveRef(ctx, st, true)
}

// solveRef solves st, evaluating it at once when evaluate is set.
func (b *builder) solveRef(ctx context.Context, st llb.State, evaluate bool) (client.Reference, error) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: b.bc.CacheImports, Evaluate: evaluate})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}
