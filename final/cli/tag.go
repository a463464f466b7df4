//go:build linux

package cli

import "github.com/spf13/cobra"

func newTagCommand(b *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Long: `tag gives an image another name (":latest" when no tag is given); the name
moves off any image it named before. SOURCE_IMAGE may be a name or an ID.`,
		Args:                  exactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			if err := e.ImageTag(cmd.Context(), args[0], args[1]); err != nil {
				return failure(1, err)
			}
			return nil
		},
	}
}
