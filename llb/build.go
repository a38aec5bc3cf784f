// Package llb turns a validated shabunble spec into BuildKit LLB and an image
// config. It knows nothing of the gateway: the frontend resolves the images
// and the facts found in them, and hands them over in an Input.
package llb

import (
	"fmt"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/shabunble/shabunble/frontend/spec"
)

// Stage names, as used by --target and --no-cache-filter.
const (
	StageBuild  = "build"
	StageDeploy = "deploy"
)

// Image is a base image: its root file system and its config.
type Image struct {
	Ref    string
	State  bk.State
	Config *dockerspec.DockerOCIImage
}

// Python holds what the frontend found out about the interpreters in the
// two base images.
type Python struct {
	// Version is the major.minor both images share, such as "3.13".
	Version string
	// BuildInterpreter and DeployInterpreter are absolute paths.
	BuildInterpreter  string
	DeployInterpreter string
}

// Input is everything a build needs, resolved for one platform.
type Input struct {
	Spec     *spec.Spec
	Context  bk.State
	Build    Image
	Deploy   Image
	Platform ocispecs.Platform
	Python   Python
	// Runtime is the interpreter's closure to copy from the build image,
	// for a deploy stage without an interpreter (scratch, and shell on a
	// base without one).
	Runtime *Runtime
	// Trim is what to leave out of the deploy base.
	Trim *Trim
	// HasRequirements is whether the requirements file exists in the app.
	HasRequirements bool
	BuildArgs       map[string]string
	Labels          map[string]string
	SourceMap       *bk.SourceMap
	// NoCache reports whether the named stage must ignore the cache.
	NoCache func(stage string) bool
	// Epoch, when set, is the creation time written in the image config.
	Epoch *time.Time
	// Target is the stage to output: deploy (the default) or build.
	Target string
}

// Result is the state to solve and the config of the image it makes.
type Result struct {
	State bk.State
	Image *dockerspec.DockerOCIImage
}

// Build generates the LLB and image config for in.
func Build(in Input) (*Result, error) {
	if in.Spec.Language != spec.Python {
		return nil, fmt.Errorf("language %q is not supported", in.Spec.Language)
	}
	switch in.Target {
	case "", StageDeploy:
		return deploy(in, pythonDeps(in))
	case StageBuild:
		return pythonBuildTarget(in, pythonDeps(in)), nil
	}
	return nil, fmt.Errorf("unknown target %q: this spec has the stages %q and %q", in.Target, StageBuild, StageDeploy)
}

func deploy(in Input, d deps) (*Result, error) {
	switch in.Spec.Deploy {
	case spec.Distroless:
		return distroless(in, d), nil
	case spec.Scratch:
		if in.Runtime == nil {
			return nil, fmt.Errorf("deploy: scratch needs the runtime closure")
		}
		return scratch(in, d), nil
	case spec.Shell:
		return shell(in, d), nil
	}
	return nil, fmt.Errorf("deploy mode %q is not supported", in.Spec.Deploy)
}

// stageOpts are the constraints for an op of stage that comes from the spec
// values at paths.
func (in Input) stageOpts(stage string, name string, paths ...string) []bk.ConstraintsOpt {
	opts := []bk.ConstraintsOpt{bk.WithCustomName(fmt.Sprintf("[%s] %s", stage, name)), bk.Platform(in.Platform)}
	if in.NoCache != nil && in.NoCache(stage) {
		opts = append(opts, bk.IgnoreCache)
	}
	if in.SourceMap != nil {
		opts = append(opts, in.SourceMap.Location(in.ranges(paths...)))
	}
	return opts
}

func (in Input) ranges(paths ...string) []*pb.Range {
	var out []*pb.Range
	for _, p := range paths {
		pos := in.Spec.Pos(p)
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(pos.Line), Character: int32(pos.Column - 1)},
			End:   &pb.Position{Line: int32(pos.Line)},
		})
	}
	return out
}
