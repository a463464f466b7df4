//go:build linux

package cli

import "github.com/spf13/cobra"

func newImageInspectCommand(b *berthCLI) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Long: `image inspect prints images as a JSON array in the shape of docker's (Id,
RepoTags, RepoDigests, Created, Config, RootFS...), or each through a Go
template with -f, e.g. berth image inspect -f '{{.Config.Cmd}}' busybox.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.inspectAll(args, format, func(name string) (any, error) {
				return e.ImageInspect(cmd.Context(), name)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}
