//go:build linux

package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCreateCommand(b *berthCLI) *cobra.Command {
	var o *containerOptions
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short:                 "Create a new container",
		Long:                  `create makes a container from IMAGE, as run does, without starting it; it prints its ID.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := parseContainerFlags(cmd.Flags(), o, args, b.lookupEnv)
			if err != nil {
				return flagError(cmd, err)
			}
			if size, ok := b.terminalSize(); ok && req.Config.Tty {
				req.HostConfig.ConsoleSize = size
			}
			e, err := b.engine()
			if err != nil {
				return failure(125, err)
			}
			resp, err := b.createPulling(cmd.Context(), e, req)
			if err != nil {
				return failure(125, err)
			}
			for _, w := range resp.Warnings {
				fmt.Fprintln(b.err, "WARNING:", w)
			}
			fmt.Fprintln(b.out, resp.ID)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	o = addContainerFlags(fs)
	fs.Bool("help", false, "Print usage")
	return cmd
}
