package frontend

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	bkllb "github.com/shabunble/shabunble/llb"
)

// resolveImage returns the base image ref for platform: the named context
// the client passed with --build-context when there is one, else the image
// from the registry, pinned to the digest its config was resolved at.
func (b *builder) resolveImage(ctx context.Context, ref string, platform ocispecs.Platform) (bkllb.Image, error) {
	resolveMode := b.bc.ImageResolveMode.String()
	nc, err := b.bc.NamedContext(ref, dockerui.ContextOpt{Platform: &platform, ResolveMode: resolveMode})
	if err != nil {
		return bkllb.Image{}, err
	}
	if nc != nil {
		st, img, err := nc.Load(ctx)
		if err != nil {
			return bkllb.Image{}, err
		}
		if img == nil {
			img = &dockerspec.DockerOCIImage{}
			img.Platform = platform
		}
		return bkllb.Image{Ref: ref, State: *st, Config: img}, nil
	}

	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return bkllb.Image{}, err
	}
	named = reference.TagNameOnly(named)
	_, dgst, dt, err := b.c.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
		LogName:  "[internal] load metadata for " + named.String(),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &platform, ResolveMode: resolveMode},
	})
	if err != nil {
		return bkllb.Image{}, fmt.Errorf("resolve image %s: %w", named, err)
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &img); err != nil {
		return bkllb.Image{}, fmt.Errorf("image %s has a bad config: %w", named, err)
	}
	pinned := named.String()
	if dgst != "" {
		if d, err := reference.WithDigest(named, dgst); err == nil {
			pinned = d.String()
		}
	}
	st := llb.Image(pinned, llb.Platform(platform), b.bc.ImageResolveMode,
		llb.WithCustomName("[internal] load "+named.String()))
	if st, err = st.WithImageConfig(dt); err != nil {
		return bkllb.Image{}, err
	}
	return bkllb.Image{Ref: ref, State: st, Config: &img}, nil
}
