//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newRestartCommand(b *berthCLI) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:                   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short:                 "Restart one or more containers",
		Long:                  `restart stops each container, as stop does, starts it again, and prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := timeoutFlag(cmd, timeout)
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.Restart(cmd.Context(), name, t) })
		},
	}
	addTimeoutFlags(cmd, &timeout)
	return cmd
}
