package frontend

import (
	"context"

	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/shabunble/shabunble/frontend/spec"
	bkllb "github.com/shabunble/shabunble/llb"
	"golang.org/x/sync/errgroup"
)

// prepareDeploy finds out, from the images' files, what the deploy mode
// needs: the interpreters, the runtime closure when the deploy base has no
// interpreter, and what to leave out of the deploy base. The two images
// are pulled at the same time, and the requirements installed while the
// deploy base is looked at.
func (b *builder) prepareDeploy(ctx context.Context, in *bkllb.Input) error {
	s := in.Spec
	var bp interpreter
	var deployRef client.Reference
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		if bp, err = b.findPython(ectx, in.Build); err != nil {
			return s.Errorf("base.build", "pick a build image with Python 3", "%v", err)
		}
		if !in.HasRequirements {
			return nil
		}
		// Install the requirements while the deploy base is inspected,
		// as the Dockerfile frontend runs stages side by side; the final
		// solve then finds the result in the cache.
		early := *in
		early.Python = bkllb.Python{Version: bp.Version, BuildInterpreter: bp.Path}
		st, _ := bkllb.PythonDeps(early)
		_, err = b.solve(ectx, st)
		return err
	})
	if s.Deploy != spec.Scratch {
		eg.Go(func() error {
			var err error
			deployRef, err = b.solve(ectx, in.Deploy.State)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	in.Python = bkllb.Python{Version: bp.Version, BuildInterpreter: bp.Path, DeployInterpreter: bp.Path}
	switch s.Deploy {
	case spec.Scratch:
		var err error
		in.Runtime, err = b.pythonRuntime(ctx, *in, in.Platform)
		return err
	case spec.Distroless:
		return b.prepareDistroless(ctx, in, bp, deployRef)
	}
	return b.prepareShell(ctx, in, deployRef)
}

// prepareDistroless checks the deploy image's Python against the build
// image's, and lists the base's setuid and setgid files, at the same time.
func (b *builder) prepareDistroless(ctx context.Context, in *bkllb.Input, bp interpreter, ref client.Reference) error {
	s := in.Spec
	fsys := newRefFS(ref)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		dp, err := findPythonIn(ectx, ref, in.Deploy)
		if err != nil {
			return s.Errorf("base.deploy", "pick a deploy image with Python 3", "%v", err)
		}
		in.Python.DeployInterpreter = dp.Path
		return samePython(s, bp, dp)
	})
	var setuid []string
	eg.Go(func() error {
		var err error
		setuid, err = setuidFiles(ectx, fsys)
		return err
	})
	if err := eg.Wait(); err != nil {
		return err
	}
	if len(setuid) > 0 {
		in.Trim = &bkllb.Trim{Remove: setuid}
	}
	return nil
}

// prepareShell keeps the deploy base's own Python when it has the build
// image's major.minor, and otherwise brings the build image's runtime.
func (b *builder) prepareShell(ctx context.Context, in *bkllb.Input, ref client.Reference) error {
	s := in.Spec
	interp := ""
	if dp, err := findPythonIn(ctx, ref, in.Deploy); err == nil {
		if dp.Version != in.Python.Version {
			return s.Errorf("base.deploy", "pick a deploy image with the build image's Python, or one with none",
				"the build image %s has Python %s but the deploy image %s has Python %s (%s)",
				s.Base.Build, in.Python.Version, s.Base.Deploy, dp.Version, dp.Path)
		}
		interp, in.Python.DeployInterpreter = dp.Path, dp.Path
	} else {
		var err error
		if in.Runtime, err = b.pythonRuntime(ctx, *in, in.Platform); err != nil {
			return err
		}
	}
	var err error
	in.Trim, err = b.shellTrim(ctx, s, newRefFS(ref), interp)
	return err
}
