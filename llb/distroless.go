package llb

import (
	bk "github.com/moby/buildkit/client/llb"
)

// distroless is the deploy stage on a distroless base: the base as it is,
// plus the dependencies and the app, both owned by root.
func distroless(in Input, d deps) *Result {
	st := harden(in, copyApp(in, StageDeploy, copyDeps(in, StageDeploy, in.Deploy.State, d)))
	img := imageConfig(in, in.Deploy.Config, true, pythonEntrypoint(in, in.Python.DeployInterpreter), pythonEnv(d), appLayers(in, d))
	return &Result{State: st, Image: img}
}

var rootOwned = &bk.ChownOpt{User: &bk.UserOpt{UID: 0}, Group: &bk.UserOpt{UID: 0}}

func copyDeps(in Input, stage string, st bk.State, d deps) bk.State {
	if !d.ok {
		return st
	}
	return st.File(bk.Copy(d.State, "/site-packages", SitePackages, &bk.CopyInfo{
		CopyDirContentsOnly: true, CreateDestPath: true, ChownOpt: rootOwned, Mode: &bk.ChmodOpt{ModeStr: readOnlyMode},
	}), in.stageOpts(stage, "copy site-packages to "+SitePackages, "requirements")...)
}

func copyApp(in Input, stage string, st bk.State) bk.State {
	s := in.Spec
	src, dir := appSource(in)
	return st.File(bk.Copy(src, dir, s.Workdir, &bk.CopyInfo{
		CopyDirContentsOnly: true, CreateDestPath: true, ChownOpt: rootOwned, Mode: &bk.ChmodOpt{ModeStr: readOnlyMode},
	}), in.stageOpts(stage, "copy "+s.App+" to "+s.Workdir, "app")...)
}
