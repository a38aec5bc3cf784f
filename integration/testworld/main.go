// Command testworld prepares the offline test world that shabunble's
// integration tests and `make demo` run against: a BuildKit daemon with a
// seccomp-enabled runc, a local OCI registry that mirrors docker.io, gcr.io
// and ghcr.io, Debian trixie look-alike base images, a PEP 503 pip index and
// the frontend image itself. See integration/world/README.md.
package main

import (
	"errors"
	"fmt"
	"github.com/shabunble/shabunble/integration/world"
	"os"
	"time"

	"github.com/spf13/cobra"
)

var start = time.Now()

// logf logs progress to stderr with the time since the program started.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[testworld %6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

// step logs the start of a step and returns a function logging its end.
func step(name string) func() {
	t := time.Now()
	logf("%s ...", name)
	return func() { logf("%s done (%.1fs)", name, time.Since(t).Seconds()) }
}

func main() {
	root := &cobra.Command{Use: "testworld", Short: "offline test world for shabunble", SilenceUsage: true, SilenceErrors: true}
	var skipFrontend bool
	up := &cobra.Command{
		Use:   "up",
		Short: "make the world ready (idempotent) and write .world/env",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd.Context(), !skipFrontend)
		},
	}
	up.Flags().BoolVar(&skipFrontend, "skip-frontend", false, "do not (re)build and push the frontend image")
	root.AddCommand(up)
	root.AddCommand(&cobra.Command{
		Use:   "down",
		Short: "stop buildkitd and the registry/index server",
		RunE:  func(cmd *cobra.Command, args []string) error { return runDown() },
	})
	root.AddCommand(&cobra.Command{
		Use:   "env",
		Short: "print .world/env",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPaths()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p.envFile())
			if err != nil {
				return fmt.Errorf("%w (run `make world`)", err)
			}
			_, err = os.Stdout.Write(b)
			return err
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "frontend",
		Short: "build the frontend binary and push the frontend image to the world registry",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPaths()
			if err != nil {
				return err
			}
			env, err := world.ReadEnv(p.envFile())
			if err != nil {
				return fmt.Errorf("%w (run `make world` first)", err)
			}
			return buildFrontend(cmd.Context(), p, env)
		},
	})
	root.AddCommand(serveCmd())
	root.AddCommand(runCmd())
	root.AddCommand(inspectCmd())
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
