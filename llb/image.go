package llb

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageConfig derives the final image config from the base's: the base's
// runtime env stays, the base's command and shell go, and nothing of the
// build stage (its env, the build args) is carried over.
// layers are the CreatedBy of the layers the stage adds, in order; base's
// history is kept only when its layers are.
func imageConfig(in Input, base *dockerspec.DockerOCIImage, keepBase bool, entrypoint, env, layers []string) *dockerspec.DockerOCIImage {
	img := cloneImage(base)
	if !keepBase {
		img.History = nil
	}
	s := in.Spec
	if img.OS == "" {
		img.Platform = platforms.Normalize(in.Platform)
	}
	created := time.Now().UTC()
	if in.Epoch != nil {
		created = in.Epoch.UTC()
	}
	img.Created = &created

	cfg := &img.Config
	cfg.Entrypoint = entrypoint
	cfg.Cmd = nil
	cfg.Shell = nil
	cfg.OnBuild = nil
	cfg.User = s.User
	cfg.WorkingDir = s.Workdir
	cfg.Env = mergeEnv(cfg.Env, env, s.Env)
	if len(in.Labels) > 0 {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		maps.Copy(cfg.Labels, in.Labels)
	}

	hist := func(createdBy string, empty bool) {
		img.History = append(img.History, ocispecs.History{
			Created: &created, CreatedBy: createdBy, Comment: "shabunble", EmptyLayer: empty,
		})
	}
	for _, l := range layers {
		hist(l, false)
	}
	hist(fmt.Sprintf("ENTRYPOINT %s", jsonString(entrypoint)), true)
	hist(fmt.Sprintf("USER %s", s.User), true)
	return img
}

func cloneImage(base *dockerspec.DockerOCIImage) *dockerspec.DockerOCIImage {
	img := &dockerspec.DockerOCIImage{}
	if base != nil {
		dt, _ := json.Marshal(base)
		_ = json.Unmarshal(dt, img)
	}
	img.RootFS = ocispecs.RootFS{Type: "layers"}
	return img
}

// mergeEnv sets each KEY=value of the later lists over the earlier ones,
// keeping the first list's order.
func mergeEnv(base []string, more []string, spec map[string]string) []string {
	out := append([]string(nil), base...)
	set := func(k, v string) {
		for i, e := range out {
			if strings.HasPrefix(e, k+"=") {
				out[i] = k + "=" + v
				return
			}
		}
		out = append(out, k+"="+v)
	}
	for _, e := range more {
		k, v, _ := strings.Cut(e, "=")
		set(k, v)
	}
	for _, k := range sortedKeys(spec) {
		set(k, spec[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func jsonString(v any) string {
	dt, _ := json.Marshal(v)
	return string(dt)
}

// appLayers are the history of the layers every deploy stage ends with.
func appLayers(in Input, d deps) []string {
	s := in.Spec
	var out []string
	if d.ok {
		out = append(out, fmt.Sprintf("COPY site-packages %s # pip install -r %s", SitePackages, requirementsPath(s)))
	}
	out = append(out, fmt.Sprintf("COPY %s %s", s.App, s.Workdir))
	return append(out, hardenLayers(in)...)
}
