package world

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"path"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// File is an entry of an image's flattened file system, as its tar
// header says, without extracting it.
type File struct {
	Mode     fs.FileMode
	UID, GID int
	Linkname string
	Size     int64
}

// Files lists the flattened file system of the platform's image in an OCI
// layout tar ("" = linux/amd64), keyed by absolute path. Modes come from
// the tar headers, so setuid, setgid and sticky bits are exact.
func Files(t testing.TB, ociTar, platform string) map[string]File {
	t.Helper()
	img, err := OpenImage(t.TempDir(), ociTar, platform)
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]File{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[path.Clean("/"+h.Name)] = File{Mode: h.FileInfo().Mode(), UID: h.Uid, GID: h.Gid, Linkname: h.Linkname, Size: h.Size}
	}
}
