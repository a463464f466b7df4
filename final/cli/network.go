//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newNetworkCommand(b *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network COMMAND",
		Short: "Manage networks",
		Long: `network manages the bridges containers are attached to: "bridge" exists from
the start; others isolate their containers from it.`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE:                  parentCommand,
	}
	cmd.AddCommand(newNetworkCreateCommand(b), newNetworkLsCommand(b), newNetworkRmCommand(b), newNetworkInspectCommand(b))
	return cmd
}
