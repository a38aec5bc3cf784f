package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// errReported is returned by a command that has already printed why it
// failed: only the exit code is left to set.
var errReported = errors.New("reported")

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "shabunble",
		Short:         "Check shabunble specs, the YAML files that describe unenterable images",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCmd(), newSchemaCmd(), newVersionCmd())
	return root
}

// run runs the command line args and returns the exit code. Errors are
// printed as one line, never as a stack trace.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "shabunble: %v\n", err)
		}
		return 1
	}
	return 0
}
