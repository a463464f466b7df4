//go:build linux

package cli

import "github.com/spf13/cobra"

func newImageCommand(b *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image COMMAND",
		Short: "Manage images",
		Long: `image groups the image commands under one name, as docker's does: image ls is
images, image rm is rmi, image pull is pull...`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE:                  parentCommand,
	}
	cmd.AddCommand(
		newImagesCommand(b, "ls"), newPullCommand(b), newPushCommand(b), newTagCommand(b),
		newRmiCommand(b, "rm"), newImageInspectCommand(b), newHistoryCommand(b), newImagePruneCommand(b),
		newSaveCommand(b), newLoadCommand(b), newImportCommand(b),
	)
	return cmd
}
