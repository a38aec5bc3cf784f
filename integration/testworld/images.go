package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageGen is bumped whenever the way images are assembled changes, to
// invalidate cached layouts.
const imageGen = "5"

// archs are the platforms every base image is built for. arm64 is file
// content only: nothing in the world executes it.
var archs = []string{"amd64", "arm64"}

// epoch is the fixed timestamp of every file, layer and config, so images
// are reproducible from the same packages.
var epoch = time.Date(2025, 8, 9, 0, 0, 0, 0, time.UTC)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// recipe describes one base image as data.
type recipe struct {
	Repo string // repository in the registry, e.g. library/python
	Tag  string
	// Packages are resolved with their dependency closure unless Exact.
	Packages []string
	Exact    bool
	// Required adds the suite's Priority: required / Essential packages.
	Required bool
	// Shell images get /usr/bin/sh -> dash and awk -> mawk if dpkg did not
	// ship them (those come from maintainer scripts / alternatives).
	Shell bool
	// KeepBins: when set, everything in /usr/bin and /usr/sbin not matching
	// one of these globs is deleted (distroless).
	KeepBins []string
	Remove   []string          // paths to delete (relative to /)
	Symlinks map[string]string // path -> target, created after extraction
	// DpkgStatusD writes /var/lib/dpkg/status.d/<pkg> (distroless style)
	// instead of /var/lib/dpkg/status (Debian style).
	DpkgStatusD bool
	Env         []string
	// VersionEnv sets KEY to the upstream version of package VALUE.
	VersionEnv map[string]string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	User       string
}

var recipes = []recipe{
	{
		// Look-alike of the official python:3.13-slim-trixie (which builds
		// CPython from source into /usr/local; ours is Debian's python3.13).
		Repo:     "library/python",
		Tag:      "3.13-slim-trixie",
		Packages: []string{"dash", "bash", "coreutils", "libc-bin", "python3", "python3-pip", "python3-venv", "ca-certificates"},
		Shell:    true,
		// The official image has no EXTERNALLY-MANAGED marker; pip must be
		// able to install (e.g. --target) without --break-system-packages.
		Remove:     []string{"usr/lib/python3.13/EXTERNALLY-MANAGED"},
		Symlinks:   map[string]string{"usr/bin/python": "python3", "usr/bin/pip": "pip3"},
		Env:        []string{"PATH=" + defaultPath, "LANG=C.UTF-8"},
		VersionEnv: map[string]string{"PYTHON_VERSION": "python3.13-minimal"},
		Cmd:        []string{"python3"},
	},
	{
		// Look-alike of gcr.io/distroless/python3-debian13: no shell, no
		// coreutils, a fixed package list without dependency closure.
		Repo: "distroless/python3-debian13",
		Tag:  "latest",
		Packages: []string{
			"base-files", "netbase", "tzdata", "media-types", "ca-certificates",
			"libc6", "libgcc-s1", "libssl3t64", "zlib1g", "libexpat1", "libffi8", "libbz2-1.0",
			"liblzma5", "libzstd1", "libsqlite3-0", "libncursesw6", "libtinfo6", "libreadline8t64",
			"libmpdec4", "libuuid1", "libcrypt1", "libdb5.3t64",
			"python3.13-minimal", "libpython3.13-minimal", "libpython3.13-stdlib",
		},
		Exact:       true,
		KeepBins:    []string{"python3*"},
		Symlinks:    map[string]string{"usr/bin/python3": "python3.13"},
		DpkgStatusD: true,
		Env:         []string{"PATH=" + defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8"},
		Entrypoint:  []string{"/usr/bin/python3.13"},
	},
	{
		// Look-alike of debian:trixie-slim: the required/essential set.
		// NOTE: the real image has no curl and no ca-certificates; we add
		// them because keep-list tests need a real program from the image.
		Repo:     "library/debian",
		Tag:      "trixie-slim",
		Required: true,
		Packages: []string{"curl", "ca-certificates"},
		Shell:    true,
		Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:      []string{"bash"},
	},
}

func (r recipe) ref() string { return r.Repo + ":" + r.Tag }

// baseImage is a built image: its OCI layout and per-arch facts.
type baseImage struct {
	recipe recipe
	layout string
	sizes  map[string]int64 // arch -> compressed layer size
}

// ensureImage returns the cached OCI layout for r, building it if the
// recipe or the trixie package lists (InRelease) changed.
func ensureImage(p *paths, roots map[string]*aptRoot, r recipe) (*baseImage, error) {
	rj, _ := json.Marshal(r)
	parts := []string{imageGen, string(rj)}
	for _, arch := range archs {
		rel := roots[arch].inRelease()
		b, err := os.ReadFile(rel)
		if err != nil {
			return nil, fmt.Errorf("no package lists for %s: %w", arch, err)
		}
		sum := sha256.Sum256(b)
		parts = append(parts, arch, hex.EncodeToString(sum[:]))
	}
	key := shortHash(parts...)
	dir := filepath.Join(p.cache, "images", strings.NewReplacer("/", "_", ":", "_").Replace(r.ref())+"-"+key)
	bi := &baseImage{recipe: r, layout: dir, sizes: map[string]int64{}}
	if exists(filepath.Join(dir, "index.json")) && exists(filepath.Join(dir, "sizes.json")) {
		b, _ := os.ReadFile(filepath.Join(dir, "sizes.json"))
		_ = json.Unmarshal(b, &bi.sizes)
		logf("image %s: cached %s", r.ref(), dir)
		return bi, nil
	}
	defer step("build image " + r.ref())()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	tmp, err := os.MkdirTemp(filepath.Join(p.cache), "img-tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// The arches are built concurrently (dpkg-deb and gzip are CPU-bound).
	imgs := make([]v1.Image, len(archs))
	sizes := make([]int64, len(archs))
	errs := make([]error, len(archs))
	var wg sync.WaitGroup
	for i, arch := range archs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], sizes[i], errs[i] = buildArch(tmp, roots[arch], r)
		}()
	}
	wg.Wait()
	for i, arch := range archs {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s %s: %w", r.ref(), arch, errs[i])
		}
		img := imgs[i]
		bi.sizes[arch] = sizes[i]
		cf, _ := img.ConfigFile()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch, Variant: cf.Variant},
		}})
	}
	out := dir + ".tmp"
	_ = os.RemoveAll(out)
	lp, err := layout.Write(out, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": r.ref()})); err != nil {
		return nil, err
	}
	sj, _ := json.Marshal(bi.sizes)
	if err := os.WriteFile(filepath.Join(out, "sizes.json"), sj, 0o644); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(out, dir); err != nil {
		return nil, err
	}
	// Drop stale layouts of the same image (older package lists/recipes).
	old, _ := filepath.Glob(strings.TrimSuffix(dir, key) + "*")
	for _, o := range old {
		if o != dir && len(o) == len(dir) {
			logf("image %s: removing stale %s", r.ref(), o)
			_ = os.RemoveAll(o)
		}
	}
	return bi, nil
}

// index loads the image index from the layout.
func (bi *baseImage) index() (v1.ImageIndex, error) {
	lp, err := layout.FromPath(bi.layout)
	if err != nil {
		return nil, err
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := outer.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s: want 1 index in layout, got %d", bi.layout, len(im.Manifests))
	}
	return outer.ImageIndex(im.Manifests[0].Digest)
}

// push pushes the image index to the world registry.
func (bi *baseImage) push(registry string) error {
	idx, err := bi.index()
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(registry+"/"+bi.recipe.ref(), name.Insecure)
	if err != nil {
		return err
	}
	return remote.WriteIndex(ref, idx)
}

// buildArch assembles the rootfs for one arch and turns it into an image.
func buildArch(tmp string, a *aptRoot, r recipe) (v1.Image, int64, error) {
	pkgs := append([]string(nil), r.Packages...)
	if r.Required {
		req, err := a.required()
		if err != nil {
			return nil, 0, err
		}
		pkgs = append(req, pkgs...)
	}
	var debs []deb
	var err error
	if r.Exact {
		debs, err = a.exact(pkgs)
	} else {
		debs, err = a.closure(pkgs)
	}
	if err != nil {
		return nil, 0, err
	}
	if err := a.download(debs); err != nil {
		return nil, 0, err
	}
	rootfs := filepath.Join(tmp, "rootfs-"+a.arch)
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, 0, err
	}
	var status []string
	versions := map[string]string{}
	for _, d := range debs {
		f := filepath.Join(a.debs, d.file())
		if err := run("", nil, "dpkg-deb", "-x", f, rootfs); err != nil {
			return nil, 0, err
		}
		ctl, err := output("", "dpkg-deb", "-f", f)
		if err != nil {
			return nil, 0, err
		}
		status = append(status, dpkgStatusEntry(ctl))
		versions[d.Name] = d.upstream()
	}
	if err := fixupRootfs(rootfs, r, debs, status); err != nil {
		return nil, 0, err
	}
	layerFile := filepath.Join(tmp, "layer-"+a.arch+".tar.gz")
	if err := writeLayer(rootfs, layerFile); err != nil {
		return nil, 0, err
	}
	_ = os.RemoveAll(rootfs)
	layer, err := tarball.LayerFromFile(layerFile, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, 0, err
	}
	names := make([]string, len(debs))
	for i, d := range debs {
		names[i] = d.Name + "=" + d.Version
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created:   v1.Time{Time: epoch},
		CreatedBy: "shabunble testworld: dpkg-deb -x (debian " + suite + "/" + a.arch + ") " + strings.Join(names, " "),
		Comment:   "offline look-alike of " + r.ref(),
	}})
	if err != nil {
		return nil, 0, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, 0, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", a.arch, v1.Time{Time: epoch}
	if a.arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Config.Env = append([]string(nil), r.Env...)
	envKeys := make([]string, 0, len(r.VersionEnv))
	for k := range r.VersionEnv {
		envKeys = append(envKeys, k)
	}
	sort.Strings(envKeys)
	for _, k := range envKeys {
		v, ok := versions[r.VersionEnv[k]]
		if !ok {
			return nil, 0, fmt.Errorf("VersionEnv %s: package %s not in image", k, r.VersionEnv[k])
		}
		cf.Config.Env = append(cf.Config.Env, k+"="+v)
	}
	cf.Config.Entrypoint, cf.Config.Cmd = r.Entrypoint, r.Cmd
	cf.Config.WorkingDir, cf.Config.User = r.WorkingDir, r.User
	cf.Config.Labels = map[string]string{"org.opencontainers.image.description": "shabunble test world look-alike of " + r.ref()}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, 0, err
	}
	size, _ := layer.Size()
	return img, size, nil
}

// dpkgStatusEntry turns a deb's control file into a dpkg status entry.
func dpkgStatusEntry(ctl string) string {
	ctl = strings.TrimRight(ctl, "\n")
	lines := strings.SplitN(ctl, "\n", 2)
	// Status goes right after Package, as dpkg writes it.
	s := lines[0] + "\nStatus: install ok installed"
	if len(lines) > 1 {
		s += "\n" + lines[1]
	}
	return s + "\n"
}

const passwd = `root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin
`
const group = `root:x:0:
tty:x:5:
staff:x:50:
nogroup:x:65534:
nonroot:x:65532:
`

// fixupRootfs does by hand what maintainer scripts and debootstrap would.
func fixupRootfs(rootfs string, r recipe, debs []deb, status []string) error {
	// merged /usr, as trixie has it.
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		if err := mergeUsr(rootfs, d); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
		uid  int
	}{{"tmp", 0o1777, 0}, {"root", 0o700, 0}, {"home/nonroot", 0o700, 65532}, {"etc", 0o755, 0}, {"var/tmp", 0o1777, 0}, {"var/lib/dpkg", 0o755, 0}, {"dev", 0o755, 0}, {"proc", 0o755, 0}, {"sys", 0o755, 0}, {"run", 0o755, 0}, {"etc/ssl/certs", 0o755, 0}} {
		p := filepath.Join(rootfs, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		mode := d.mode & 0o777
		if d.mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		if err := os.Chown(p, d.uid, d.uid); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/group"), []byte(group), 0o644); err != nil {
		return err
	}
	// CA bundle: normally made by update-ca-certificates (postinst).
	if exists(filepath.Join(rootfs, "usr/share/ca-certificates")) {
		var crts []string
		_ = filepath.WalkDir(filepath.Join(rootfs, "usr/share/ca-certificates"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".crt") {
				crts = append(crts, p)
			}
			return nil
		})
		sort.Strings(crts)
		var bundle []byte
		for _, c := range crts {
			b, err := os.ReadFile(c)
			if err != nil {
				return err
			}
			bundle = append(bundle, b...)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				bundle = append(bundle, '\n')
			}
		}
		if err := os.WriteFile(filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt"), bundle, 0o644); err != nil {
			return err
		}
	}
	if r.Shell {
		for link, target := range map[string]string{"usr/bin/sh": "dash", "usr/bin/awk": "mawk"} {
			if !exists(filepath.Join(rootfs, link)) && exists(filepath.Join(rootfs, "usr/bin", target)) {
				if err := os.Symlink(target, filepath.Join(rootfs, link)); err != nil {
					return err
				}
			}
		}
	}
	if r.KeepBins != nil {
		for _, dir := range []string{"usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin"} {
			ents, _ := os.ReadDir(filepath.Join(rootfs, dir))
			for _, e := range ents {
				keep := false
				for _, g := range r.KeepBins {
					if ok, _ := filepath.Match(g, e.Name()); ok {
						keep = true
					}
				}
				if !keep {
					if err := os.RemoveAll(filepath.Join(rootfs, dir, e.Name())); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, rm := range r.Remove {
		if err := os.RemoveAll(filepath.Join(rootfs, rm)); err != nil {
			return err
		}
	}
	// Documentation is excluded, like the slim/distroless images do
	// (copyright files are kept).
	for _, rm := range []string{"usr/share/man", "usr/share/info", "usr/share/lintian", "usr/share/linda"} {
		_ = os.RemoveAll(filepath.Join(rootfs, rm))
	}
	docs, _ := os.ReadDir(filepath.Join(rootfs, "usr/share/doc"))
	for _, d := range docs {
		sub, _ := os.ReadDir(filepath.Join(rootfs, "usr/share/doc", d.Name()))
		for _, s := range sub {
			if s.Name() != "copyright" {
				_ = os.RemoveAll(filepath.Join(rootfs, "usr/share/doc", d.Name(), s.Name()))
			}
		}
	}
	links := make([]string, 0, len(r.Symlinks))
	for l := range r.Symlinks {
		links = append(links, l)
	}
	sort.Strings(links)
	for _, l := range links {
		p := filepath.Join(rootfs, l)
		if exists(p) {
			continue
		}
		if err := os.Symlink(r.Symlinks[l], p); err != nil {
			return err
		}
	}
	// dpkg database, so scanners and apt know what is installed.
	if r.DpkgStatusD {
		sd := filepath.Join(rootfs, "var/lib/dpkg/status.d")
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return err
		}
		for i, d := range debs {
			if err := os.WriteFile(filepath.Join(sd, d.Name), []byte(status[i]), 0o644); err != nil {
				return err
			}
		}
	} else {
		if err := os.WriteFile(filepath.Join(rootfs, "var/lib/dpkg/status"), []byte(strings.Join(status, "\n")), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mergeUsr turns rootfs/<d> into a symlink to usr/<d>, moving any content
// dpkg put there into usr/<d>. lib64 is only created if usr/lib64 exists.
func mergeUsr(rootfs, d string) error {
	top, usr := filepath.Join(rootfs, d), filepath.Join(rootfs, "usr", d)
	if fi, err := os.Lstat(top); err == nil {
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		if err := os.MkdirAll(usr, 0o755); err != nil {
			return err
		}
		ents, err := os.ReadDir(top)
		if err != nil {
			return err
		}
		for _, e := range ents {
			dst := filepath.Join(usr, e.Name())
			if exists(dst) {
				if err := os.RemoveAll(dst); err != nil {
					return err
				}
			}
			if err := os.Rename(filepath.Join(top, e.Name()), dst); err != nil {
				return err
			}
		}
		if err := os.Remove(top); err != nil {
			return err
		}
	}
	if d == "lib64" && !exists(usr) {
		return nil
	}
	if err := os.MkdirAll(usr, 0o755); err != nil {
		return err
	}
	return os.Symlink("usr/"+d, top)
}

// writeLayer writes rootfs as a gzipped tar with numeric owners as on disk,
// a fixed mtime, hardlinks preserved, in lexical order.
func writeLayer(rootfs, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err = filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var link string
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		st := fi.Sys().(*syscall.Stat_t)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			k := inode{uint64(st.Dev), st.Ino}
			if first, ok := seen[k]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				return tw.WriteHeader(hdr)
			}
			seen[k] = hdr.Name
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}
