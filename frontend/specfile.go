package frontend

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/shabunble/shabunble/frontend/spec"
)

const (
	keyFilename = "filename"
	// DefaultFilename is the spec file looked for first when -f names none.
	DefaultFilename = "shabunble.yaml"
)

// readSpec reads the spec file that -f names. When it names none, it looks
// for shabunble.yaml and then Dockerfile, so that a spec with a `# syntax=`
// line can also be called Dockerfile.
func readSpec(ctx context.Context, c client.Client) (*dockerui.Client, *dockerui.Source, error) {
	opts := c.BuildOpts().Opts
	if opts[keyFilename] != "" {
		return readSpecFile(ctx, c)
	}
	var errs []error
	for _, name := range []string{DefaultFilename, dockerui.DefaultDockerfileName} {
		opts[keyFilename] = name
		bc, src, err := readSpecFile(ctx, c)
		if err == nil {
			return bc, src, nil
		}
		errs = append(errs, err)
	}
	delete(opts, keyFilename)
	return nil, nil, fmt.Errorf("no spec file: looked for %s and %s in the build context (pass -f to name it): %w",
		DefaultFilename, dockerui.DefaultDockerfileName, errors.Join(errs...))
}

func readSpecFile(ctx context.Context, c client.Client) (*dockerui.Client, *dockerui.Source, error) {
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, nil, err
	}
	src, err := bc.ReadEntrypoint(ctx, "YAML")
	if err != nil {
		return nil, nil, err
	}
	return bc, src, nil
}

// withSource attaches the spec file and the error's position to err, so
// that buildctl and buildx print the offending lines, as they do for a
// Dockerfile. Errors that are not spec errors are returned as they are.
func withSource(err error, sm *llb.SourceMap) error {
	var se *spec.Error
	if sm == nil || !errors.As(err, &se) {
		return err
	}
	return errdefs.WithSource(err, &errdefs.Source{
		Info: &pb.SourceInfo{
			Data:       sm.Data,
			Filename:   sm.Filename,
			Language:   sm.Language,
			Definition: sm.Definition.ToPB(),
		},
		Ranges: []*pb.Range{{
			Start: &pb.Position{Line: int32(se.Line), Character: int32(se.Column - 1)},
			End:   &pb.Position{Line: int32(se.Line)},
		}},
	})
}
