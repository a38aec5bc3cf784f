package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// wheelPlatform maps Debian arch to the wheel platform tag and the
// multiarch triplet in extension module names.
var wheelPlatform = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}

// ensureWheels repackages Debian trixie's python3-markupsafe (which has a C
// extension, markupsafe/_speedups.cpython-313-<triplet>.so) as real
// binary wheels, one per arch, into a dir keyed by the package versions.
func ensureWheels(p *paths, roots map[string]*aptRoot) (string, error) {
	var debs []deb
	var parts []string
	for _, arch := range archs {
		ds, err := roots[arch].exact([]string{"python3-markupsafe"})
		if err != nil {
			return "", err
		}
		debs = append(debs, ds[0])
		parts = append(parts, ds[0].file())
	}
	dir := filepath.Join(p.cache, "wheels", shortHash(append(parts, imageGen)...))
	if exists(filepath.Join(dir, "done")) {
		logf("wheels: cached %s", dir)
		return dir, nil
	}
	defer step("build markupsafe wheels")()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for i, arch := range archs {
		a, d := roots[arch], debs[i]
		if err := a.download([]deb{d}); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(p.cache, "wheel-tmp-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		if err := run("", nil, "dpkg-deb", "-x", filepath.Join(a.debs, d.file()), tmp); err != nil {
			return "", err
		}
		src := filepath.Join(tmp, "usr/lib/python3/dist-packages/markupsafe")
		tag := "cp313-cp313-linux_" + wheelPlatform[arch]
		whl := fmt.Sprintf("markupsafe-%s-%s.whl", d.upstream(), tag)
		if err := writeWheel(filepath.Join(dir, whl), src, "markupsafe", d.upstream(), tag); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
}

// writeWheel writes a binary wheel of the package dir src.
func writeWheel(out, src, pkg, version, tag string) error {
	files := map[string][]byte{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[pkg+"/"+filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return err
	}
	if _, ok := files[pkg+"/__init__.py"]; !ok {
		return fmt.Errorf("%s: no __init__.py", src)
	}
	di := pkg + "-" + version + ".dist-info/"
	files[di+"METADATA"] = []byte(fmt.Sprintf("Metadata-Version: 2.1\nName: MarkupSafe\nVersion: %s\nSummary: Safely add untrusted strings to HTML/XML markup.\nLicense: BSD-3-Clause\nRequires-Python: >=3.7\n", version))
	files[di+"WHEEL"] = []byte("Wheel-Version: 1.0\nGenerator: shabunble-testworld\nRoot-Is-Purelib: false\nTag: " + tag + "\n")
	files[di+"top_level.txt"] = []byte(pkg + "\n")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var record strings.Builder
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", di)
	files[di+"RECORD"] = []byte(record.String())
	names = append(names, di+"RECORD")

	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, n := range names {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, ".so") {
			mode = 0o755
		}
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: epoch}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(files[n]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}
