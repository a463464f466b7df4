//go:build linux

package cli

import (
	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newRmCommand(b *berthCLI) *cobra.Command {
	var opts engine.RemoveOptions
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Long: `rm removes stopped containers (running ones too with -f, killed first), their
writable layers, and with -v their anonymous volumes; it prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.Remove(cmd.Context(), name, opts) })
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.Force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	fs.BoolVarP(&opts.RemoveVolumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}
