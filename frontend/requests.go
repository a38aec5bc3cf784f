package frontend

import (
	"context"

	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	bkllb "github.com/shabunble/shabunble/llb"
)

// requestHandler answers the subrequests behind `docker buildx build
// --call`, so that they never fall back to the Dockerfile parser.
func (b *builder) requestHandler() dockerui.RequestHandler {
	return dockerui.RequestHandler{
		Outline:     b.outline,
		ListTargets: b.targets,
		Lint: func(context.Context) (*lint.LintResults, error) {
			// A spec that parsed has nothing to lint: every problem is an error.
			return &lint.LintResults{}, nil
		},
	}
}

func (b *builder) outline(context.Context) (*outline.Outline, error) {
	o := &outline.Outline{
		Name:        b.spec.Entrypoint[0],
		Description: "shabunble " + b.spec.Language + " app in " + b.spec.App + ", deployed " + b.spec.Deploy,
		Secrets: []outline.Secret{
			{Name: bkllb.SecretPipConf},
			{Name: bkllb.SecretNetrc},
		},
		Sources: [][]byte{b.src.Data},
	}
	for _, k := range bkllb.PipBuildArgs {
		o.Args = append(o.Args, outline.Arg{Name: k, Description: "passed to pip install", Value: b.bc.BuildArgs[k]})
	}
	return o, nil
}

func (b *builder) targets(context.Context) (*targets.List, error) {
	return &targets.List{
		Targets: []targets.Target{
			{Name: bkllb.StageDeploy, Default: true, Description: "the unenterable image", Base: b.spec.Base.Deploy},
			{Name: bkllb.StageBuild, Description: "the build stage with the app, for debugging", Base: b.spec.Base.Build},
		},
		Sources: [][]byte{b.src.Data},
	}, nil
}
