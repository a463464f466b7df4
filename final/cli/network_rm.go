//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newNetworkRmCommand(b *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:                   "rm NETWORK [NETWORK...]",
		Aliases:               []string{"remove"},
		Short:                 "Remove one or more networks",
		Long:                  `network rm removes networks no container is attached to, and prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.NetworkRemove(cmd.Context(), name) })
		},
	}
}
