package llb

import (
	"fmt"
	"path"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
)

// shell is the deploy stage on a base with a shell: the base without every
// program that is not kept, without its package managers and without
// setuid bits, copied into a new layer so that what is dropped is not even
// in a lower layer. When the base has no interpreter, the build image's
// runtime closure is merged on top.
func shell(in Input, d deps) *Result {
	if in.Trim == nil {
		in.Trim = &Trim{}
	}
	st := trimmedBase(in)
	interp := in.Python.DeployInterpreter
	if in.Runtime != nil {
		st = bk.Merge([]bk.State{st, runtimeState(in, false)}, in.stageOpts(StageDeploy, "add the runtime", "language")...)
		interp = in.Python.BuildInterpreter
	}
	st = harden(in, copyApp(in, StageDeploy, copyDeps(in, StageDeploy, st, d)))
	layers := []string{fmt.Sprintf("COPY %s / # keep %s; every other program in PATH, the package managers and setuid bits removed",
		in.Spec.Base.Deploy, strings.Join(in.Trim.Kept, ", "))}
	if in.Runtime != nil {
		layers = append(layers, "COPY the "+in.Spec.Language+" runtime closure from "+in.Spec.Base.Build)
	}
	img := imageConfig(in, in.Deploy.Config, false, pythonEntrypoint(in, interp), pythonEnv(d), append(layers, appLayers(in, d)...))
	return &Result{State: st, Image: img}
}

func trimmedBase(in Input) bk.State {
	var exclude []string
	if in.Trim != nil {
		for _, p := range in.Trim.Remove {
			exclude = append(exclude, escapePattern(strings.TrimPrefix(path.Clean(p), "/")))
		}
	}
	fa := bk.Copy(in.Deploy.State, "/", "/", &bk.CopyInfo{CopyDirContentsOnly: true, ExcludePatterns: exclude})
	if in.Trim != nil {
		for _, p := range sortedModes(in.Trim.Defang) {
			mode := in.Trim.Defang[p]
			fa = fa.Copy(in.Deploy.State, p, p, &bk.CopyInfo{Mode: &bk.ChmodOpt{Mode: mode}})
		}
	}
	return bk.Scratch().File(fa, in.stageOpts(StageDeploy, fmt.Sprintf("copy %s without %d removed files", in.Spec.Base.Deploy, len(exclude)), "deploy", "keep")...)
}
