package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"html"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/spf13/cobra"
)

// pipUser is the basic-auth user of the private pip index.
const pipUser = "shabunble"

func serveCmd() *cobra.Command {
	var regAddr, pipAddr, blobs, wheels, passwordFile string
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "serve the OCI registry and the pip index (started detached by up)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := os.ReadFile(passwordFile)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(blobs, 0o755); err != nil {
				return err
			}
			rl, err := net.Listen("tcp", regAddr)
			if err != nil {
				return err
			}
			pl, err := net.Listen("tcp", pipAddr)
			if err != nil {
				return err
			}
			logger := log.New(os.Stderr, "registry ", log.LstdFlags)
			reg := registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs)), registry.Logger(logger))
			errc := make(chan error, 2)
			go func() { errc <- http.Serve(rl, reg) }()
			go func() { errc <- http.Serve(pl, pipIndex(wheels, strings.TrimSpace(string(pw)))) }()
			log.Printf("serving registry on %s, pip index on %s", regAddr, pipAddr)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			select {
			case err := <-errc:
				return err
			case s := <-sig:
				log.Printf("exiting on %v", s)
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&regAddr, "registry", "", "registry listen address")
	cmd.Flags().StringVar(&pipAddr, "pip", "", "pip index listen address")
	cmd.Flags().StringVar(&blobs, "blobs", "", "registry blob dir")
	cmd.Flags().StringVar(&wheels, "wheels", "", "dir of *.whl files")
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file with the private index password")
	return cmd
}

var nonNorm = regexp.MustCompile(`[-_.]+`)

// pep503 normalizes a project name.
func pep503(n string) string { return strings.ToLower(nonNorm.ReplaceAllString(n, "-")) }

// pipIndex serves a PEP 503 simple index of the wheels in dir at /simple/
// (and /files/), and the same behind basic auth at /private/simple/.
func pipIndex(dir, password string) http.Handler {
	type file struct{ name, sha string }
	projects := map[string][]file{}
	whls, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	for _, w := range whls {
		b, err := os.ReadFile(w)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		base := filepath.Base(w)
		proj := pep503(strings.SplitN(base, "-", 2)[0])
		projects[proj] = append(projects[proj], file{base, hex.EncodeToString(sum[:])})
	}
	names := make([]string, 0, len(projects))
	for n := range projects {
		names = append(names, n)
	}
	sort.Strings(names)
	public := http.NewServeMux()
	public.HandleFunc("/simple/", func(w http.ResponseWriter, r *http.Request) {
		proj := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if proj == "" {
			fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Simple index</title></head><body>\n")
			for _, n := range names {
				fmt.Fprintf(w, "<a href=\"%s/\">%s</a>\n", html.EscapeString(n), html.EscapeString(n))
			}
			fmt.Fprint(w, "</body></html>\n")
			return
		}
		if pep503(proj) != proj {
			http.Redirect(w, r, "../"+pep503(proj)+"/", http.StatusMovedPermanently)
			return
		}
		files, ok := projects[proj]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for %s</title></head><body>\n", html.EscapeString(proj))
		for _, f := range files {
			fmt.Fprintf(w, "<a href=\"../../files/%s#sha256=%s\" data-requires-python=\"&gt;=3.7\">%s</a>\n", html.EscapeString(f.name), f.sha, html.EscapeString(f.name))
		}
		fmt.Fprint(w, "</body></html>\n")
	})
	public.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(dir))))
	mux := http.NewServeMux()
	mux.Handle("/simple/", public)
	mux.Handle("/files/", public)
	mux.Handle("/private/", http.StripPrefix("/private", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		if !ok || u != pipUser || subtle.ConstantTimeCompare([]byte(pw), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="shabunble private index"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		public.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	return logRequests(mux)
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("pip %s %s", r.Method, r.URL.Path)
		h.ServeHTTP(w, r)
	})
}
