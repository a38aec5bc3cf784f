package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shabunble/shabunble/integration/world"
)

// exitError makes main exit with a given code without printing anything
// more (the container's exit code, for `run`).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// runCmd is `testworld run IMAGE.tar [CMD...]`: like `docker run`, with the
// world's runc, on an OCI layout tar.
func runCmd() *cobra.Command {
	var (
		entrypoint []string
		platform   string
		mounts     []string
		env        []string
		user       string
		workdir    string
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE.tar [CMD [ARG...]]",
		Short: "run an OCI layout tar with the world's runc, like docker run",
		Long: `Runs the image in an OCI layout tar (buildctl --output type=oci,dest=IMAGE.tar)
with the world's runc, the way docker run would: the image's Entrypoint and
Cmd, Env, WorkingDir and User. Trailing arguments replace the Cmd;
--entrypoint replaces the Entrypoint and drops the image's Cmd. Output is
streamed; the exit code is the container's.

--entrypoint is either repeated (--entrypoint python3 --entrypoint -c) or one
JSON array (--entrypoint '["python3","-c"]'); --entrypoint "" clears it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := world.Open()
			if err != nil {
				return err
			}
			opts := world.RunOpts{Platform: platform, Env: env, User: user, WorkingDir: workdir,
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Timeout: timeout}
			if cmd.Flags().Changed("entrypoint") {
				if opts.Entrypoint, err = parseEntrypoint(entrypoint); err != nil {
					return err
				}
			}
			if len(args) > 1 {
				opts.Cmd = args[1:]
			}
			for _, m := range mounts {
				host, ctr, ok := strings.Cut(m, ":")
				if !ok || host == "" || !strings.HasPrefix(ctr, "/") {
					return fmt.Errorf("--mount %q: want HOST:/CONTAINER/PATH", m)
				}
				abs, err := filepath.Abs(host)
				if err != nil {
					return err
				}
				if opts.Mounts == nil {
					opts.Mounts = map[string]string{}
				}
				opts.Mounts[abs] = ctr
			}
			res, err := w.Run(args[0], opts)
			if err != nil {
				return err
			}
			if res.ExitCode != 0 {
				return exitError{res.ExitCode}
			}
			return nil
		},
	}
	f := cmd.Flags()
	// Flags after IMAGE.tar belong to the container's command.
	f.SetInterspersed(false)
	f.StringArrayVar(&entrypoint, "entrypoint", nil, "replace the image Entrypoint (repeatable, or a JSON array)")
	f.StringVar(&platform, "platform", "", "image of the index to run (default linux/amd64)")
	f.StringArrayVarP(&mounts, "mount", "v", nil, "bind-mount HOST:CONTAINER read-only (repeatable)")
	f.StringArrayVarP(&env, "env", "e", nil, "KEY=VALUE added to the image Env (repeatable)")
	f.StringVarP(&user, "user", "u", "", "override the image User (uid[:gid] or name)")
	f.StringVarP(&workdir, "workdir", "w", "", "override the image WorkingDir")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "kill the container after this long")
	return cmd
}

// parseEntrypoint turns --entrypoint values into an argv: one JSON array,
// or the repeated values in order. A single "" clears the entrypoint.
func parseEntrypoint(vals []string) ([]string, error) {
	if len(vals) == 1 {
		v := strings.TrimSpace(vals[0])
		if v == "" {
			return []string{}, nil
		}
		if strings.HasPrefix(v, "[") {
			var argv []string
			if err := json.Unmarshal([]byte(v), &argv); err != nil {
				return nil, fmt.Errorf("--entrypoint %s: not a JSON array of strings: %v", v, err)
			}
			return argv, nil
		}
	}
	return append([]string{}, vals...), nil
}

// inspectCmd is `testworld inspect IMAGE.tar`: the image config as JSON.
func inspectCmd() *cobra.Command {
	var platform, format string
	cmd := &cobra.Command{
		Use:   "inspect [flags] IMAGE.tar",
		Short: "print the image config of an OCI layout tar",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cf, err := world.ReadImageConfig(args[0], platform)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				b, err := json.MarshalIndent(cf, "", "  ")
				if err != nil {
					return err
				}
				fmt.Println(string(b))
			case "summary":
				c := cf.Config
				q := func(v []string) string {
					if v == nil {
						return "(none)"
					}
					b, _ := json.Marshal(v)
					return string(b)
				}
				user := c.User
				if user == "" {
					user = "(none: root)"
				}
				fmt.Printf("User:       %s\nEntrypoint: %s\nCmd:        %s\nWorkingDir: %s\n", user, q(c.Entrypoint), q(c.Cmd), c.WorkingDir)
			default:
				return errors.New("--format: json or summary")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "image of the index (default linux/amd64)")
	cmd.Flags().StringVar(&format, "format", "json", "json (the whole config file) or summary (User, Entrypoint, Cmd, WorkingDir)")
	return cmd
}
