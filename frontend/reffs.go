package frontend

import (
	"context"
	"io"
	"io/fs"
	"path"
	"sync"

	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/shabunble/shabunble/frontend/closure"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// refFS reads a solved state's files through the gateway. Listings are
// cached: a closure stats the same folders again and again, and each call
// is a round trip.
type refFS struct {
	ref  client.Reference
	mu   *sync.Mutex
	dirs map[string][]closure.Stat
}

func newRefFS(ref client.Reference) refFS {
	return refFS{ref: ref, mu: &sync.Mutex{}, dirs: map[string][]closure.Stat{}}
}

var _ closure.FS = refFS{}

func toStat(st *fstypes.Stat) closure.Stat {
	return closure.Stat{Name: path.Base(st.Path), Mode: fs.FileMode(st.Mode), Size: st.Size, Linkname: st.Linkname}
}

// Lstat implements closure.FS from a listing of the parent folder, since
// StatFile follows symlinks (bounded to the root).
func (r refFS) Lstat(ctx context.Context, p string) (closure.Stat, error) {
	if path.Clean(p) == "/" {
		st, err := r.ref.StatFile(ctx, client.StatRequest{Path: "/"})
		if err != nil {
			return closure.Stat{}, err
		}
		return toStat(st), nil
	}
	p = path.Clean(p)
	entries, err := r.ReadDir(ctx, path.Dir(p))
	if err != nil {
		return closure.Stat{}, err
	}
	for _, e := range entries {
		if e.Name == path.Base(p) {
			return e, nil
		}
	}
	return closure.Stat{}, fs.ErrNotExist
}

// ReadDir implements closure.FS.
func (r refFS) ReadDir(ctx context.Context, p string) ([]closure.Stat, error) {
	p = path.Clean(p)
	r.mu.Lock()
	cached, ok := r.dirs[p]
	r.mu.Unlock()
	if ok {
		return cached, nil
	}
	entries, err := r.ref.ReadDir(ctx, client.ReadDirRequest{Path: p})
	if err != nil {
		return nil, err
	}
	out := make([]closure.Stat, 0, len(entries))
	for _, e := range entries {
		out = append(out, toStat(e))
	}
	r.mu.Lock()
	r.dirs[p] = out
	r.mu.Unlock()
	return out, nil
}

// ReaderAt implements closure.FS, reading ranges on demand so that only
// the ELF headers and dynamic sections cross the gateway.
func (r refFS) ReaderAt(ctx context.Context, p string, size int64) io.ReaderAt {
	return refReader{ctx: ctx, ref: r.ref, path: p, size: size}
}

type refReader struct {
	ctx  context.Context
	ref  client.Reference
	path string
	size int64
}

func (r refReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	dt, err := r.ref.ReadFile(r.ctx, client.ReadRequest{Filename: r.path, Range: &client.FileRange{Offset: int(off), Length: len(b)}})
	if err != nil {
		return 0, err
	}
	n := copy(b, dt)
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}
