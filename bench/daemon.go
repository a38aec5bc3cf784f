package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// daemon is a private buildkitd for the bench: the world's binaries and
// buildkitd.toml (same runc, snapshotter and registry mirror), its own
// --root and --addr under the bench's temp dir.
type daemon struct {
	dir  string // holds root/, the socket and the log
	addr string // unix://.../buildkitd.sock
	cmd  *exec.Cmd
	log  *os.File
}

// startDaemon starts buildkitd with an empty root in dir and waits until
// it answers with an OCI worker.
func (b *bench) startDaemon(dir string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, addr: "unix://" + filepath.Join(dir, "buildkitd.sock")}
	log, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		return nil, err
	}
	d.log = log
	cmd := exec.Command(b.w.buildkitd, "--root", filepath.Join(dir, "root"), "--addr", d.addr, "--config", b.config)
	// buildkitd only enables the OCI worker if "runc" is on PATH.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(b.w.runc)+":"+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start buildkitd: %w", err)
	}
	d.cmd = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("buildkitd exited; log tail:\n%s", tailFile(log.Name(), 2000))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, b.w.buildctl, "--addr", d.addr, "debug", "workers").CombinedOutput()
		cancel()
		if err == nil && strings.Contains(string(out), "linux/amd64") {
			b.daemons = append(b.daemons, d)
			return d, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop()
	return nil, fmt.Errorf("buildkitd did not come up; log tail:\n%s", tailFile(log.Name(), 2000))
}

// stop ends this buildkitd (only the process the bench started, by pid)
// and removes its root.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	p := d.cmd.Process
	d.cmd = nil
	_ = p.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			if err := p.Signal(syscall.Signal(0)); err != nil {
				close(done)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.Kill()
		<-done
	}
	d.log.Close()
	_ = os.RemoveAll(filepath.Join(d.dir, "root"))
}

func tailFile(name string, n int) string {
	b, _ := os.ReadFile(name)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
