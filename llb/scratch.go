package llb

import dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

// scratch is the deploy stage from nothing: the interpreter's runtime
// closure from the build image, users, /tmp, the dependencies and the app.
// No base image is pulled for it.
func scratch(in Input, d deps) *Result {
	st := harden(in, copyApp(in, StageDeploy, copyDeps(in, StageDeploy, runtimeState(in, true), d)))
	base := &dockerspec.DockerOCIImage{}
	base.Config.Env = []string{"PATH=" + pathEnv(in.Build), "LANG=C.UTF-8"}
	layers := append([]string{"COPY the " + in.Spec.Language + " runtime closure from " + in.Spec.Base.Build}, appLayers(in, d)...)
	img := imageConfig(in, base, false, pythonEntrypoint(in, in.Python.BuildInterpreter), pythonEnv(d), layers)
	return &Result{State: st, Image: img}
}
