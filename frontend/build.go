// Package frontend is the gateway side of shabunble: it reads the client's
// options through dockerui, parses and validates the spec, resolves the base
// images, loops over the target platforms and solves the LLB that package
// llb generates.
package frontend

import (
	"context"
	"maps"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/shabunble/shabunble/frontend/spec"
	bkllb "github.com/shabunble/shabunble/llb"
	"golang.org/x/sync/errgroup"
)

// builder holds what one build shares across its platforms.
type builder struct {
	c    client.Client
	bc   *dockerui.Client
	src  *dockerui.Source
	spec *spec.Spec
}

// Build is the gateway entrypoint.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	bc, src, err := readSpec(ctx, c)
	if err != nil {
		return nil, err
	}
	s, err := spec.Parse(src.Filename, src.Data)
	if err != nil {
		return nil, withSource(err, src.SourceMap)
	}
	b := &builder{c: c, bc: bc, src: src, spec: s}
	if res, ok, err := bc.HandleSubrequest(ctx, b.requestHandler()); err != nil || ok {
		return res, err
	}
	res, err := b.build(ctx)
	return res, withSource(err, src.SourceMap)
}

func (b *builder) build(ctx context.Context) (*client.Result, error) {
	mainCtx, err := b.bc.MainContext(ctx)
	if err != nil {
		return nil, err
	}
	ctxRef, err := b.solve(ctx, *mainCtx)
	if err != nil {
		return nil, err
	}
	hasReq, err := checkApp(ctx, newRefFS(ctxRef), b.spec)
	if err != nil {
		return nil, err
	}
	rb, err := b.bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, idx int) (*dockerui.BuildResult, error) {
		p := platforms.DefaultSpec()
		if platform != nil {
			p = *platform
		}
		return b.buildPlatform(ctx, *mainCtx, hasReq, p)
	})
	if err != nil {
		return nil, err
	}
	return rb.Finalize()
}

func (b *builder) buildPlatform(ctx context.Context, mainCtx llb.State, hasReq bool, p ocispecs.Platform) (*dockerui.BuildResult, error) {
	s := b.spec
	in := bkllb.Input{
		Spec:            s,
		Context:         mainCtx,
		Platform:        p,
		HasRequirements: hasReq,
		BuildArgs:       maps.Clone(b.bc.BuildArgs),
		Labels:          b.bc.Labels,
		SourceMap:       b.src.SourceMap,
		NoCache:         b.bc.IsNoCache,
		Target:          b.bc.Target,
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		if in.Build, err = b.resolveImage(ectx, s.Base.Build, p); err != nil {
			return s.Errorf("base.build", "check the image name, or pass it with --build-context", "%v", err)
		}
		return nil
	})
	if s.Deploy != spec.Scratch {
		eg.Go(func() error {
			var err error
			if in.Deploy, err = b.resolveImage(ectx, s.Base.Deploy, p); err != nil {
				return s.Errorf("base.deploy", "check the image name, or pass it with --build-context", "%v", err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if err := b.prepareDeploy(ctx, &in); err != nil {
		return nil, err
	}
	res, err := bkllb.Build(in)
	if err != nil {
		return nil, err
	}
	// The result is left to the exporter to evaluate, as the Dockerfile
	// frontend does.
	ref, err := b.solveRef(ctx, res.State, false)
	if err != nil {
		return nil, err
	}
	base := in.Deploy.Config
	if b.bc.Target == bkllb.StageBuild {
		base = in.Build.Config
	}
	return &dockerui.BuildResult{Reference: ref, Image: res.Image, BaseImage: base}, nil
}
