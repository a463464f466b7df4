//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newVolumeRmCommand(b *berthCLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:                   "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases:               []string{"remove"},
		Short:                 "Remove one or more volumes",
		Long:                  `volume rm removes volumes no container uses, with their data, and prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.VolumeRemove(cmd.Context(), name, force) })
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}
