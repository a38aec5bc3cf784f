package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// suite is the Debian release the base images are made of.
const suite = "trixie"

// hostMirror returns the Debian archive URI from the host's apt sources
// (deb822 .sources files or the one-line sources.list), skipping the
// security archive. The mirror is never hard-coded.
func hostMirror() (string, error) {
	var uris []string
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(b), "\n\n") {
			var u, suites string
			for _, line := range strings.Split(stanza, "\n") {
				if v, ok := strings.CutPrefix(line, "URIs:"); ok {
					u = strings.TrimSpace(v)
				}
				if v, ok := strings.CutPrefix(line, "Suites:"); ok {
					suites = v
				}
			}
			if u != "" && !strings.Contains(suites, "security") {
				uris = append(uris, strings.Fields(u)...)
			}
		}
	}
	if f, err := os.Open("/etc/apt/sources.list"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 || fields[0] != "deb" {
				continue
			}
			fields = fields[1:]
			if strings.HasPrefix(fields[0], "[") { // [options]
				for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
					fields = fields[1:]
				}
				fields = fields[1:]
			}
			if len(fields) >= 2 && !strings.Contains(fields[1], "security") {
				uris = append(uris, fields[0])
			}
		}
		f.Close()
	}
	for _, u := range uris {
		if strings.HasPrefix(u, "http") {
			return strings.TrimSuffix(u, "/"), nil
		}
	}
	return "", fmt.Errorf("no Debian archive URI found in the host's apt sources")
}

// aptRoot is a private apt configuration for trixie and one architecture,
// independent of the host's apt state. dpkg status is empty, so apt
// resolves full dependency closures.
type aptRoot struct {
	dir, arch string
	debs      string // downloaded .deb files (shared by all recipes)
}

func newAptRoot(p *paths, arch string) (*aptRoot, error) {
	a := &aptRoot{dir: filepath.Join(p.cache, "apt", suite+"-"+arch), arch: arch, debs: filepath.Join(p.cache, "debs", suite+"-"+arch)}
	for _, d := range []string{"etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(a.debs, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(a.dir, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		return nil, err
	}
	mirror, err := hostMirror()
	if err != nil {
		return nil, err
	}
	// The host is bookworm; its debian-archive-keyring already carries the
	// trixie archive keys (debian-archive-trixie-*.gpg), so signatures are
	// verified normally. No [trusted=yes].
	src := fmt.Sprintf("deb [arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n", arch, mirror, suite)
	if err := writeIfChanged(filepath.Join(a.dir, "etc/apt/sources.list"), src); err != nil {
		return nil, err
	}
	return a, nil
}

func writeIfChanged(file, content string) error {
	if b, err := os.ReadFile(file); err == nil && string(b) == content {
		return nil
	}
	return os.WriteFile(file, []byte(content), 0o644)
}

func (a *aptRoot) opts() []string {
	return []string{
		"-o", "Dir=" + a.dir,
		"-o", "Dir::State::status=" + filepath.Join(a.dir, "var/lib/dpkg/status"),
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.dir, "etc/apt/sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(a.dir, "etc/apt/sources.list.d"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(a.dir, "etc/apt/preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(a.dir, "etc/apt/preferences.d"),
		"-o", "Dir::Cache=" + filepath.Join(a.dir, "var/cache/apt"),
		"-o", "Dir::State=" + filepath.Join(a.dir, "var/lib/apt"),
		"-o", "APT::Architecture=" + a.arch,
		"-o", "APT::Architectures=" + a.arch,
		"-o", "APT::Install-Recommends=false",
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false",
		"-o", "Debug::NoLocking=1",
	}
}

// inRelease returns the path of the suite's InRelease file.
func (a *aptRoot) inRelease() string {
	m, _ := filepath.Glob(filepath.Join(a.dir, "var/lib/apt/lists/*_dists_"+suite+"_InRelease"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// update refreshes the package lists if they are missing or older than maxAge.
func (a *aptRoot) update(maxAge time.Duration) error {
	if r := a.inRelease(); r != "" {
		if fi, err := os.Stat(r); err == nil && time.Since(fi.ModTime()) < maxAge {
			if st, err := os.Stat(filepath.Join(a.dir, "updated")); err == nil && time.Since(st.ModTime()) < maxAge {
				return nil
			}
		}
	}
	defer step("apt-get update (" + suite + "/" + a.arch + ")")()
	if err := run("", nil, "apt-get", append(a.opts(), "update", "-qq")...); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(a.dir, "updated"), nil, 0o644)
}

// deb is one resolved binary package.
type deb struct{ Name, Version, Arch string }

func (d deb) file() string {
	return fmt.Sprintf("%s_%s_%s.deb", d.Name, strings.ReplaceAll(d.Version, ":", "%3a"), d.Arch)
}

// upstream returns the upstream part of the version (no epoch, no revision).
func (d deb) upstream() string {
	v := d.Version
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndex(v, "-"); i > 0 {
		v = v[:i]
	}
	return v
}

// closure resolves pkgs and all their Depends/Pre-Depends (no Recommends)
// against an empty dpkg status.
func (a *aptRoot) closure(pkgs []string) ([]deb, error) {
	out, err := output("", "apt-get", append(append(a.opts(), "install", "-s", "-qq"), pkgs...)...)
	if err != nil {
		return nil, err
	}
	var debs []deb
	for _, line := range strings.Split(out, "\n") {
		// Inst libc6 (2.41-12+deb13u5 Debian:13.x/stable [amd64])
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "Inst" {
			continue
		}
		ver := strings.TrimPrefix(f[2], "(")
		var arch string
		for _, x := range f[3:] {
			if strings.HasPrefix(x, "[") && strings.HasSuffix(x, "])") {
				arch = strings.Trim(x, "[])")
			}
		}
		if arch == "" {
			return nil, fmt.Errorf("cannot parse arch from %q", line)
		}
		debs = append(debs, deb{Name: f[1], Version: ver, Arch: arch})
	}
	if len(debs) == 0 {
		return nil, fmt.Errorf("apt resolved nothing for %v:\n%s", pkgs, out)
	}
	sort.Slice(debs, func(i, j int) bool { return debs[i].Name < debs[j].Name })
	return debs, nil
}

// exact resolves exactly pkgs, without dependencies.
func (a *aptRoot) exact(pkgs []string) ([]deb, error) {
	out, err := output("", "apt-cache", append(append(a.opts(), "show", "--no-all-versions"), pkgs...)...)
	if err != nil {
		return nil, err
	}
	var debs []deb
	for _, stanza := range strings.Split(out, "\n\n") {
		var d deb
		for _, line := range strings.Split(stanza, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "Package":
				d.Name = v
			case "Version":
				d.Version = v
			case "Architecture":
				d.Arch = v
			}
		}
		if d.Name != "" {
			debs = append(debs, d)
		}
	}
	if len(debs) != len(pkgs) {
		return nil, fmt.Errorf("apt-cache show %v: got %d packages, want %d", pkgs, len(debs), len(pkgs))
	}
	sort.Slice(debs, func(i, j int) bool { return debs[i].Name < debs[j].Name })
	return debs, nil
}

// required lists the suite's Priority: required and Essential: yes packages.
func (a *aptRoot) required() ([]string, error) {
	lists, _ := filepath.Glob(filepath.Join(a.dir, "var/lib/apt/lists/*_dists_"+suite+"_main_binary-"+a.arch+"_Packages*"))
	if len(lists) == 0 {
		return nil, fmt.Errorf("no Packages list for %s/%s", suite, a.arch)
	}
	// Lists may be stored compressed (lz4, gz); apt-helper decompresses.
	text, err := output("", "/usr/lib/apt/apt-helper", "cat-file", lists[0])
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Package: "):
			name = strings.TrimPrefix(line, "Package: ")
		case line == "Priority: required", line == "Essential: yes":
			set[name] = true
		}
	}
	var pkgs []string
	for p := range set {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	return pkgs, sc.Err()
}

// download fetches the .deb files that are not in the cache yet.
func (a *aptRoot) download(debs []deb) error {
	var want []string
	for _, d := range debs {
		if !exists(filepath.Join(a.debs, d.file())) {
			want = append(want, d.Name+"="+d.Version)
		}
	}
	if len(want) == 0 {
		return nil
	}
	defer step(fmt.Sprintf("apt-get download %d packages (%s)", len(want), a.arch))()
	if err := run(a.debs, nil, "apt-get", append(append(a.opts(), "download", "-qq"), want...)...); err != nil {
		return err
	}
	for _, d := range debs {
		if !exists(filepath.Join(a.debs, d.file())) {
			return fmt.Errorf("apt-get download did not produce %s", d.file())
		}
	}
	return nil
}
