//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newNetworkInspectCommand(b *berthCLI) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short:                 "Display detailed information on one or more networks",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.inspectAll(args, format, func(name string) (any, error) { return e.NetworkInspect(cmd.Context(), name) })
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}
