package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/shabunble/shabunble/frontend"
	"github.com/shabunble/shabunble/integration/world"
	"github.com/tonistiigi/fsutil"
	"google.golang.org/protobuf/proto"
)

// recorder is a gateway client that keeps every LLB definition the
// frontend solves, so that a test can look inside the LLB itself.
type recorder struct {
	gateway.Client
	mu   sync.Mutex
	defs [][]byte
}

func (r *recorder) Solve(ctx context.Context, req gateway.SolveRequest) (*gateway.Result, error) {
	if req.Definition != nil {
		dt, err := proto.Marshal(req.Definition)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.defs = append(r.defs, dt)
		r.mu.Unlock()
	}
	return r.Client.Solve(ctx, req)
}

type inProcess struct {
	dir     string
	attrs   map[string]string
	secrets map[string][]byte
	build   gateway.BuildFunc
	// noExport is for builds whose result is not an image.
	noExport bool
}

// run builds with an in-process client.Build against the world's
// buildkitd, exporting an OCI layout tar.
func (p inProcess) run(t *testing.T, w *world.World) (string, *bkclient.SolveResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := bkclient.New(ctx, w.BuildkitHost)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "image.tar")
	opt := bkclient.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: map[string]string{"filename": "shabunble.yaml"},
		Exports: []bkclient.ExportEntry{{Type: bkclient.ExporterOCI, Output: func(map[string]string) (io.WriteCloser, error) {
			return os.Create(dest)
		}}},
	}
	if p.noExport {
		opt.Exports = nil
	}
	for k, v := range p.attrs {
		opt.FrontendAttrs[k] = v
	}
	if p.secrets != nil {
		opt.Session = []session.Attachable{secretsprovider.FromMap(p.secrets)}
	}
	ch := make(chan *bkclient.SolveStatus)
	var logs bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := range ch {
			for _, l := range st.Logs {
				logs.Write(l.Data)
			}
		}
	}()
	res, err := c.Build(ctx, opt, "shabunble-test", p.build, ch)
	<-done
	if err != nil {
		t.Fatalf("in-process build: %v\n%s", err, tail(logs.String(), 3000))
	}
	return dest, res
}

func TestInProcessBuild(t *testing.T) {
	w := world.Load(t)
	img, _ := inProcess{dir: example("python-basic"), build: frontend.Build}.run(t, w)
	res := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", res.Stdout, "B O O M !")
}

// TestSecretNeverLeaks passes a pip.conf with a credential in its index
// URL as --secret id=pip. pip can only find the package through it, so the
// build proves the secret was used; then the token must be in no layer, no
// config, no provenance and no LLB definition.
func TestSecretNeverLeaks(t *testing.T) {
	w := world.Load(t)
	token := fmt.Sprintf("s3cr3t-%d", time.Now().UnixNano())
	index := strings.Replace(w.PipIndex, "http://", "http://shabunble:"+token+"@", 1)
	conf := "[global]\nindex-url = " + index + "\n"

	rec := &recorder{}
	img, _ := inProcess{
		dir:     example("python-requirements"),
		attrs:   map[string]string{"attest:provenance": "mode=max"},
		secrets: map[string][]byte{"pip": []byte(conf)},
		build: func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
			rec.Client = c
			return frontend.Build(ctx, rec)
		},
	}.run(t, w)

	run := mustRun(t, img, world.RunOpts{})
	requireContains(t, "output", run.Stdout, "_speedups")

	if hits := blobsContaining(t, img, []byte(token)); len(hits) > 0 {
		t.Errorf("the secret is in the image blobs %v", hits)
	}
	if hits := blobsContaining(t, img, []byte("https://slsa.dev/provenance")); len(hits) == 0 {
		t.Errorf("no provenance attestation in the export: the provenance check above proved nothing")
	}
	if len(rec.defs) == 0 {
		t.Fatal("no LLB was recorded")
	}
	for i, d := range rec.defs {
		if bytes.Contains(d, []byte(token)) {
			t.Errorf("the secret is in LLB definition %d", i)
		}
	}
}

// TestSubrequests asks the frontend, through the `# syntax=` path, for the
// subrequests behind `docker buildx build --call`.
func TestSubrequests(t *testing.T) {
	w := world.Load(t)
	for req, want := range map[string]string{
		"frontend.outline": `"PIP_INDEX_URL"`,
		"frontend.targets": `"deploy"`,
		"frontend.lint":    `"warnings"`,
	} {
		var got string
		inProcess{dir: example("python-requirements"), build: func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
			res, err := c.Solve(ctx, gateway.SolveRequest{
				Frontend:    "dockerfile.v0",
				FrontendOpt: map[string]string{"requestid": req, "filename": "shabunble.yaml"},
			})
			if err != nil {
				return nil, err
			}
			got = string(res.Metadata["result.json"])
			return gateway.NewResult(), nil
		}, noExport: true}.run(t, w)
		requireContains(t, req, got, want)
	}
}

// TestNetrcSecret installs from the world's private index, which refuses
// requests without its password: the build succeeds only through
// --secret id=netrc, and the password is in no blob and no LLB.
func TestNetrcSecret(t *testing.T) {
	w := world.Load(t)
	attrs := map[string]string{"build-arg:PIP_INDEX_URL": w.PipPrivateIndex, "no-cache": ""}
	netrc := fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", w.PipPrivateUser, w.PipPrivatePassword)

	rec := &recorder{}
	img, _ := inProcess{
		dir:     example("python-requirements"),
		attrs:   attrs,
		secrets: map[string][]byte{"netrc": []byte(netrc)},
		build: func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
			rec.Client = c
			return frontend.Build(ctx, rec)
		},
	}.run(t, w)
	requireContains(t, "output", mustRun(t, img, world.RunOpts{}).Stdout, "_speedups")
	if hits := blobsContaining(t, img, []byte(w.PipPrivatePassword)); len(hits) > 0 {
		t.Errorf("the netrc password is in the image blobs %v", hits)
	}
	for i, d := range rec.defs {
		if bytes.Contains(d, []byte(w.PipPrivatePassword)) {
			t.Errorf("the netrc password is in LLB definition %d", i)
		}
	}

	// Without the secret the private index refuses pip: the check above
	// is not vacuous.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := bkclient.New(ctx, w.BuildkitHost)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(example("python-requirements"))
	if err != nil {
		t.Fatal(err)
	}
	opt := bkclient.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: map[string]string{"filename": "shabunble.yaml", "build-arg:PIP_INDEX_URL": w.PipPrivateIndex, "no-cache": ""},
	}
	ch := make(chan *bkclient.SolveStatus)
	go func() {
		for range ch {
		}
	}()
	if _, err := c.Build(ctx, opt, "shabunble-test", frontend.Build, ch); err == nil {
		t.Fatal("the private index served pip without the netrc secret")
	}
}
