package closure

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// DirFS is an FS over a folder of the local machine, such as an unpacked
// image. Paths are taken inside the folder.
type DirFS string

func (d DirFS) join(p string) string { return filepath.Join(string(d), filepath.FromSlash(p)) }

func statOf(name string, fi os.FileInfo, link string) Stat {
	return Stat{Name: name, Mode: fi.Mode(), Size: fi.Size(), Linkname: link}
}

// Lstat implements FS.
func (d DirFS) Lstat(_ context.Context, p string) (Stat, error) {
	fi, err := os.Lstat(d.join(p))
	if err != nil {
		return Stat{}, err
	}
	link, _ := os.Readlink(d.join(p))
	return statOf(fi.Name(), fi, link), nil
}

// ReadDir implements FS.
func (d DirFS) ReadDir(ctx context.Context, p string) ([]Stat, error) {
	entries, err := os.ReadDir(d.join(p))
	if err != nil {
		return nil, err
	}
	var out []Stat
	for _, e := range entries {
		st, err := d.Lstat(ctx, filepath.ToSlash(filepath.Join(p, e.Name())))
		if err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// ReaderAt implements FS.
func (d DirFS) ReaderAt(_ context.Context, p string, _ int64) io.ReaderAt {
	return lazyFile(d.join(p))
}

type lazyFile string

func (f lazyFile) ReadAt(b []byte, off int64) (int, error) {
	fh, err := os.Open(string(f))
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	return fh.ReadAt(b, off)
}
