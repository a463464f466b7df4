//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newKillCommand(b *berthCLI) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:                   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short:                 "Kill one or more running containers",
		Long:                  `kill sends each container's main process a signal, SIGKILL unless -s says otherwise, and prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.Kill(cmd.Context(), name, signal) })
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", `Signal to send to the container (a name such as "HUP" or "SIGHUP", or a number; default KILL)`)
	return cmd
}
