package llb

import (
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
)

// Runtime is the interpreter's runtime closure in the build image, found
// by the frontend from the image's files: what a deploy stage without an
// interpreter of its own receives.
type Runtime struct {
	// Files are copied one by one, each to its own path.
	Files []string
	// Links are symlinks met on the way (path -> target), made again.
	Links map[string]string
	// Dirs are copied whole, such as the standard library.
	Dirs []string
	// Exclude are patterns, relative to each of Dirs, left out of them.
	Exclude []string
}

// Trim is what the frontend found in the deploy base that must not reach
// the final image.
type Trim struct {
	// Remove are absolute paths to leave out of the deploy base.
	Remove []string
	// Defang are kept files with a setuid or setgid bit, and the mode they
	// get instead.
	Defang map[string]fs.FileMode
	// Kept describes, for the history, what shell mode kept and why.
	Kept []string
}

// runtimeState is an image holding only the runtime closure.
func runtimeState(in Input, withEtc bool) bk.State {
	rt := in.Runtime
	// The chain starts with a no-op, so that every step can be a method.
	fa := bk.Mkdir("/", 0o755, bk.WithParents(true))
	if withEtc {
		// LLB's mkdir and a copy's numeric mode keep only the permission
		// bits; a symbolic mode can set the sticky bit.
		fa = fa.Copy(bk.Scratch(), "/", "/tmp", &bk.CopyInfo{Mode: &bk.ChmodOpt{ModeStr: "1777"}}).
			Mkdir("/etc", 0o755, bk.WithParents(true)).
			Mkfile("/etc/passwd", 0o644, []byte(passwd)).
			Mkfile("/etc/group", 0o644, []byte(group))
	}
	for _, link := range slices.Sorted(maps.Keys(rt.Links)) {
		fa = fa.Mkdir(path.Dir(link), 0o755, bk.WithParents(true)).Symlink(rt.Links[link], link)
	}
	for _, p := range rt.Files {
		fa = fa.Copy(in.Build.State, p, p, &bk.CopyInfo{CreateDestPath: true})
	}
	for _, d := range rt.Dirs {
		fa = fa.Copy(in.Build.State, d, d, &bk.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true, ExcludePatterns: rt.Exclude})
	}
	return bk.Scratch().File(fa, in.stageOpts(StageDeploy, "copy the "+in.Spec.Language+" runtime from "+in.Spec.Base.Build, "language")...)
}

// The users of a scratch image: root and the default non-root user.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// escapePattern makes a path a literal for BuildKit's exclude patterns.
func escapePattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
