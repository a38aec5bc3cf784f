package main

import (
	"os"

	"github.com/shabunble/shabunble/frontend/spec"
	"github.com/spf13/cobra"
)

func newSchemaCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "schema [-o FILE]",
		Short: "Print the JSON Schema of the spec file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dt, err := spec.JSONSchema()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(dt)
				return err
			}
			return os.WriteFile(out, dt, 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the schema to FILE instead of stdout")
	return cmd
}
