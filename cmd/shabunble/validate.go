package main

import (
	"fmt"
	"os"

	"github.com/shabunble/shabunble/frontend/spec"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate [-f FILE]",
		Short: "Parse and check a spec file",
		Long: "Parse and check a spec file as the frontend does before a build. " +
			"Checks against the build context (the app folder and files exist) are left to the build.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if _, err := spec.Parse(file, data); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return errReported
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "shabunble.yaml", "the spec file")
	return cmd
}
