package frontend

import (
	"context"

	"github.com/shabunble/shabunble/frontend/spec"
	bkllb "github.com/shabunble/shabunble/llb"
)

// prepareDeploy finds out, from the images' files, what the deploy mode
// needs: the interpreters, the runtime closure when the deploy base has no
// interpreter, and what to leave out of the deploy base.
func (b *builder) prepareDeploy(ctx context.Context, in *bkllb.Input) error {
	s := in.Spec
	bp, err := b.findPython(ctx, in.Build)
	if err != nil {
		return s.Errorf("base.build", "pick a build image with Python 3", "%v", err)
	}
	in.Python = bkllb.Python{Version: bp.Version, BuildInterpreter: bp.Path}
	switch s.Deploy {
	case spec.Scratch:
		in.Python.DeployInterpreter = bp.Path
		in.Runtime, err = b.pythonRuntime(ctx, *in, in.Platform)
		return err
	case spec.Distroless:
		if in.Python, err = b.pythons(ctx, s, in.Build, in.Deploy); err != nil {
			return err
		}
		ref, err := b.solve(ctx, in.Deploy.State)
		if err != nil {
			return err
		}
		files, err := setuidFiles(ctx, newRefFS(ref))
		if len(files) > 0 {
			in.Trim = &bkllb.Trim{Remove: files}
		}
		return err
	}
	return b.prepareShell(ctx, in)
}

// prepareShell keeps the deploy base's own Python when it has the build
// image's major.minor, and otherwise brings the build image's runtime.
func (b *builder) prepareShell(ctx context.Context, in *bkllb.Input) error {
	s := in.Spec
	interp := ""
	if dp, err := b.findPython(ctx, in.Deploy); err == nil {
		if dp.Version != in.Python.Version {
			return s.Errorf("base.deploy", "pick a deploy image with the build image's Python, or one with none",
				"the build image %s has Python %s but the deploy image %s has Python %s (%s)",
				s.Base.Build, in.Python.Version, s.Base.Deploy, dp.Version, dp.Path)
		}
		interp, in.Python.DeployInterpreter = dp.Path, dp.Path
	} else {
		in.Python.DeployInterpreter = in.Python.BuildInterpreter
		var err error
		if in.Runtime, err = b.pythonRuntime(ctx, *in, in.Platform); err != nil {
			return err
		}
	}
	ref, err := b.solve(ctx, in.Deploy.State)
	if err != nil {
		return err
	}
	in.Trim, err = b.shellTrim(ctx, s, newRefFS(ref), interp)
	return err
}
