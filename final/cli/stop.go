//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newStopCommand(b *berthCLI) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Long: `stop sends each container its stop signal (SIGTERM unless --stop-signal said
otherwise), then SIGKILL after the timeout (10 seconds unless --stop-timeout
said otherwise), and prints each as given.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := timeoutFlag(cmd, timeout)
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.forEach(args, func(name string) error { return e.Stop(cmd.Context(), name, t) })
		},
	}
	addTimeoutFlags(cmd, &timeout)
	return cmd
}

// addTimeoutFlags defines stop's and restart's -t, --timeout, and --time,
// its older name.
func addTimeoutFlags(cmd *cobra.Command, timeout *int) {
	fs := cmd.Flags()
	fs.IntVarP(timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	fs.IntVar(timeout, "time", 0, "Seconds to wait before killing the container")
	_ = fs.MarkHidden("time")
}

// timeoutFlag is the timeout if the user gave one; nil leaves the
// container's (--stop-timeout) or the default.
func timeoutFlag(cmd *cobra.Command, timeout int) *int {
	if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
		return &timeout
	}
	return nil
}
