//go:build linux

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newWaitCommand(b *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:                   "wait CONTAINER [CONTAINER...]",
		Short:                 "Block until one or more containers stop, then print their exit codes",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			failed := false
			for _, name := range args {
				w, err := e.Wait(cmd.Context(), name, engine.WaitNotRunning)
				if err != nil {
					fmt.Fprintln(b.err, "berth:", message(err))
					failed = true
					continue
				}
				fmt.Fprintln(b.out, w.StatusCode)
			}
			if failed {
				return statusError{code: 1}
			}
			return nil
		},
	}
}
