//go:build linux

package cli

import "github.com/spf13/cobra"

func newSystemCommand(b *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system COMMAND",
		Short: "Manage berth",
		Long: `system shows what berth's state takes on disk (df) and removes what nothing
uses (prune).`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE:                  parentCommand,
	}
	cmd.AddCommand(newSystemDFCommand(b), newSystemPruneCommand(b))
	return cmd
}
