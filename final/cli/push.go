//go:build linux

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newPushCommand(b *berthCLI) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Long: `push sends the image named NAME[:TAG] to the registry the name points at:
each layer the registry lacks, then the manifest. Tag an image with the
registry's host first: berth tag busybox localhost:5000/busybox.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			reg, err := b.registryOptions()
			if err != nil {
				return err
			}
			opts := engine.ImagePushOptions{Registry: reg}
			var sl *statusLines
			if !quiet {
				sl = newStatusLines(b.out)
				opts.Progress = sl
			}
			_, err = e.ImagePush(cmd.Context(), args[0], opts)
			if sl != nil {
				sl.flush()
			}
			if err != nil {
				return failure(1, err)
			}
			if quiet {
				fmt.Fprintln(b.out, args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}
