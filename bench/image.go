package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shabunble/shabunble/integration/world"
	"io"
	"net/http"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

const manifestAccept = "application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"

// imageStats describes one linux/amd64 image.
type imageStats struct {
	Compressed   int64 // sum of the layer blobs as stored (the manifest's layer sizes)
	Uncompressed int64 // sum of the uncompressed layer tars (what `docker images` shows)
	Files        int   // regular files (hard links included) in the flattened filesystem
	Executables  int   // regular files with an x bit directly in the PATH folders
	Layers       int
}

// pathDirs are the folders counted for "executables in PATH". Merged /usr
// symlinks (/bin -> usr/bin) are followed and each real folder is counted once.
var pathDirs = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}

// ociStats reads an OCI layout tar (buildctl --output type=oci,dest=...).
func ociStats(ociTar, tmp string) (imageStats, error) {
	dir, err := os.MkdirTemp(tmp, "oci-")
	if err != nil {
		return imageStats{}, err
	}
	defer os.RemoveAll(dir)
	img, err := world.OpenImage(dir, ociTar, "linux/amd64")
	if err != nil {
		return imageStats{}, err
	}
	return stats(img)
}

func stats(img v1.Image) (imageStats, error) {
	var s imageStats
	layers, err := img.Layers()
	if err != nil {
		return s, err
	}
	s.Layers = len(layers)
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			return s, err
		}
		s.Compressed += size
		rc, err := l.Uncompressed()
		if err != nil {
			return s, err
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return s, err
		}
		s.Uncompressed += n
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	fs, err := readFS(rc)
	if err != nil {
		return s, err
	}
	s.Files, s.Executables = fs.counts()
	return s, nil
}

// fsys is a flattened filesystem as tar headers by clean absolute path.
type fsys map[string]*tar.Header

func readFS(r io.Reader) (fsys, error) {
	fs := fsys{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fs, nil
		}
		if err != nil {
			return nil, err
		}
		fs[clean(h.Name)] = h
	}
}

func clean(p string) string { return path.Clean("/" + strings.TrimPrefix(p, "./")) }

// resolve follows symlinks in every component of p, as the kernel would
// inside the image's root.
func (fs fsys) resolve(p string) string {
	parts := strings.Split(strings.TrimPrefix(clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0 && hops < 255; {
		next := path.Join(cur, parts[0])
		parts = parts[1:]
		h, ok := fs[next]
		if ok && h.Typeflag == tar.TypeSymlink {
			hops++
			target := h.Linkname
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			rest := strings.Split(strings.TrimPrefix(clean(target), "/"), "/")
			parts = append(rest, parts...)
			cur = "/"
			continue
		}
		cur = next
	}
	return cur
}

// counts returns the regular files and the executables in PATH folders.
func (fs fsys) counts() (files, execs int) {
	dirs := map[string]bool{}
	for _, d := range pathDirs {
		r := fs.resolve(d)
		if h, ok := fs[r]; ok && h.Typeflag == tar.TypeDir {
			dirs[r] = true
		}
	}
	for p, h := range fs {
		mode := h.Mode
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeLink:
			if t, ok := fs[clean(h.Linkname)]; ok {
				mode = t.Mode
			}
		default:
			continue
		}
		files++
		if dirs[path.Dir(p)] && mode&0o111 != 0 {
			execs++
		}
	}
	return files, execs
}

// registryImageStats reads repo:tag (linux/amd64) from the world's
// registry over plain HTTP.
func registryImageStats(registry, repo, tag string) (imageStats, error) {
	var s imageStats
	base := "http://" + registry + "/v2/" + repo
	get := func(p, accept string) ([]byte, error) {
		req, _ := http.NewRequest("GET", base+p, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %s", p, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	accept := manifestAccept
	body, err := get("/manifests/"+tag, accept)
	if err != nil {
		return s, err
	}
	var m struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest   string       `json:"digest"`
			Platform *v1.Platform `json:"platform"`
		} `json:"manifests"`
		Layers []struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return s, err
	}
	if len(m.Manifests) > 0 {
		digest := ""
		for _, d := range m.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
				digest = d.Digest
			}
		}
		if digest == "" {
			return s, errors.New("no linux/amd64 manifest")
		}
		if body, err = get("/manifests/"+digest, accept); err != nil {
			return s, err
		}
		m.Layers = nil
		if err := json.Unmarshal(body, &m); err != nil {
			return s, err
		}
	}
	for _, l := range m.Layers {
		s.Layers++
		s.Compressed += l.Size
		blob, err := get("/blobs/"+l.Digest, "")
		if err != nil {
			return s, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			return s, err
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil {
			return s, err
		}
		s.Uncompressed += n
		// Count files of this layer (the frontend image has one layer).
		zr2, _ := gzip.NewReader(bytes.NewReader(blob))
		fs, err := readFS(zr2)
		if err != nil {
			return s, err
		}
		f, e := fs.counts()
		s.Files += f
		s.Executables += e
	}
	return s, nil
}

// manifestDigest resolves repo:tag in the world's registry to the digest
// of what it points at (an index or a manifest).
func manifestDigest(registry, repo, tag string) (string, error) {
	req, _ := http.NewRequest("GET", "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", manifestAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET manifest %s:%s: %s", repo, tag, resp.Status)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(body)), nil
}
