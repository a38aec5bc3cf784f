package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// ensureBusybox fetches Debian trixie's busybox-static for amd64 (the arch
// the world runs) and extracts the static busybox binary into a cache dir
// keyed by the .deb's name, version and arch. It returns the binary's path.
func ensureBusybox(p *paths, a *aptRoot) (string, error) {
	ds, err := a.exact([]string{"busybox-static"})
	if err != nil {
		return "", err
	}
	d := ds[0]
	dir := filepath.Join(p.cache, "busybox", shortHash(d.file()))
	bin := filepath.Join(dir, "busybox")
	if exists(bin) {
		logf("busybox: cached %s", bin)
		return bin, nil
	}
	defer step("extract busybox from " + d.file())()
	if err := a.download([]deb{d}); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(p.cache, "busybox-tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := run("", nil, "dpkg-deb", "-x", filepath.Join(a.debs, d.file()), tmp); err != nil {
		return "", err
	}
	var src string
	for _, c := range []string{"bin/busybox", "usr/bin/busybox"} {
		if fi, err := os.Lstat(filepath.Join(tmp, c)); err == nil && fi.Mode().IsRegular() {
			src = filepath.Join(tmp, c)
			break
		}
	}
	if src == "" {
		return "", fmt.Errorf("%s has no bin/busybox or usr/bin/busybox", d.file())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return bin, copyFile(src, bin, 0o755)
}
