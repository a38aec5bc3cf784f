package llb

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/shabunble/shabunble/frontend/spec"
)

// readOnlyMode is applied to everything copied from the build: no setuid or
// setgid bit, and no write bit but the owner's, who is root.
const readOnlyMode = "u-s,g-s,go-w"

// harden is the last step of every deploy stage: it leaves out the
// setuid and setgid files the frontend found in the deploy base (shell
// mode already did, by copying) and hands the writable folders to the
// runtime user.
func harden(in Input, st bk.State) bk.State {
	s := in.Spec
	if s.Deploy == spec.Distroless && in.Trim != nil && len(in.Trim.Remove) > 0 {
		var fa *bk.FileAction
		for _, p := range in.Trim.Remove {
			if fa == nil {
				fa = bk.Rm(p, bk.WithAllowNotFound(true))
			} else {
				fa = fa.Rm(p, bk.WithAllowNotFound(true))
			}
		}
		st = st.File(fa, in.stageOpts(StageDeploy, fmt.Sprintf("remove %d setuid/setgid files", len(in.Trim.Remove)), "deploy")...)
	}
	if len(s.Writable) == 0 {
		return st
	}
	owner := runtimeOwner(s.User)
	// Each folder is made again, owned by the runtime user, and what the
	// app had put in it is copied back with the same owner. A Mkdir alone
	// would leave an existing folder root's.
	fa := bk.Rm(s.Writable[0], bk.WithAllowNotFound(true))
	for i, w := range s.Writable {
		if i > 0 {
			fa = fa.Rm(w, bk.WithAllowNotFound(true))
		}
		fa = fa.Mkdir(w, 0o755, bk.WithParents(true), owner).
			Copy(st, path.Join(w, "*"), w+"/", &bk.CopyInfo{
				AllowWildcard: true, AllowEmptyWildcard: true, ChownOpt: owner, Mode: &bk.ChmodOpt{ModeStr: "u+w"},
			})
	}
	return st.File(fa, in.stageOpts(StageDeploy, "make "+strings.Join(s.Writable, ", ")+" writable by "+s.User, "writable")...)
}

// hardenLayers are the history of the layers harden adds.
func hardenLayers(in Input) []string {
	var out []string
	if in.Spec.Deploy == spec.Distroless && in.Trim != nil && len(in.Trim.Remove) > 0 {
		out = append(out, fmt.Sprintf("RM %s # setuid/setgid", strings.Join(in.Trim.Remove, " ")))
	}
	if w := in.Spec.Writable; len(w) > 0 {
		out = append(out, fmt.Sprintf("MKDIR --chown=%s %s", in.Spec.User, strings.Join(w, " ")))
	}
	return out
}

// runtimeOwner is the spec's user:group as a chown option.
func runtimeOwner(user string) *bk.ChownOpt {
	u, g, _ := strings.Cut(user, ":")
	opt := func(v string) *bk.UserOpt {
		if id, err := strconv.Atoi(v); err == nil {
			return &bk.UserOpt{UID: id}
		}
		return &bk.UserOpt{Name: v}
	}
	c := &bk.ChownOpt{User: opt(u)}
	if g != "" {
		c.Group = opt(g)
	}
	return c
}

func sortedModes(m map[string]fs.FileMode) []string {
	return slices.Sorted(maps.Keys(m))
}
