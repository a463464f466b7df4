//go:build linux

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newCommitCommand(b *berthCLI) *cobra.Command {
	var (
		opts    engine.CommitOptions
		noPause bool
	)
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Long: `commit makes an image of a container: its image's layers, and on top one new
layer holding what the container changed (its writable layer, deletions as
whiteouts). The image records the container's settings (command, environment,
working directory...), with -c's Dockerfile instructions applied, and a
history entry with -m and -a. A running container is paused meanwhile
(--pause=false to let it run). It prints the new image's ID.

  berth commit -c 'CMD ["httpd", "-f"]' -m "add the site" web site:1`,
		Args:                  rangeArgs(1, 2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Reference = args[1]
			}
			if noPause {
				opts.Pause = false
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			id, err := e.ContainerCommit(cmd.Context(), args[0], opts)
			if err != nil {
				return failure(1, err)
			}
			fmt.Fprintln(b.out, id)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	fs.StringArrayVarP(&opts.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fs.StringVarP(&opts.Comment, "message", "m", "", "Commit message")
	fs.BoolVarP(&opts.Pause, "pause", "p", true, "Pause container during commit")
	fs.BoolVar(&noPause, "no-pause", false, "Disable pausing container during commit")
	return cmd
}
