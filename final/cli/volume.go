//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newVolumeCommand(b *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage volumes",
		Long: `volume manages named volumes: directories the engine keeps apart from any
container's writable layer, mounted with -v NAME:/path, outliving the containers.`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE:                  parentCommand,
	}
	cmd.AddCommand(newVolumeCreateCommand(b), newVolumeLsCommand(b), newVolumeRmCommand(b), newVolumeInspectCommand(b))
	return cmd
}
