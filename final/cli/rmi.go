//go:build linux

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

// newRmiCommand is `berth rmi` and, named "rm", `berth image rm`.
func newRmiCommand(b *berthCLI, use string) *cobra.Command {
	var opts engine.ImageRemoveOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Long: `rmi removes names, and an image with its last name: its blobs, and its
unpacked layers. An image a container uses keeps its last name unless -f, and
then stays, unnamed (<none>), as long as a container stands on it; by ID, an
image a running container uses is never removed.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			failed := false
			for _, name := range args {
				deleted, err := e.ImageRemove(cmd.Context(), name, opts)
				for _, d := range deleted {
					if d.Untagged != "" {
						fmt.Fprintln(b.out, "Untagged:", d.Untagged)
					} else {
						fmt.Fprintln(b.out, "Deleted:", d.Deleted)
					}
				}
				if err != nil {
					failed = true
					if errors.Is(err, engine.ErrConflict) {
						// docker's own words start with "conflict:"; keep them.
						fmt.Fprintln(b.err, "berth:", err)
					} else {
						fmt.Fprintln(b.err, "berth:", message(err))
					}
				}
			}
			if failed {
				return statusError{code: 1}
			}
			return nil
		},
	}
	if use == "rm" {
		cmd.Aliases = []string{"remove", "rmi"}
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.Force, "force", "f", false, "Force removal of the image")
	fs.Bool("no-prune", false, "Do not delete untagged parents (berth keeps no parents: no effect)")
	return cmd
}
