//go:build linux

package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newTopCommand(b *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "top CONTAINER [ps OPTIONS]",
		Short:                 "Display the running processes of a container",
		Long:                  `top lists a container's processes with ps (default options -ef); what follows CONTAINER is passed to ps.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			top, err := e.Top(cmd.Context(), args[0], strings.Join(args[1:], " "))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(b.out, 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(top.Titles, "\t"))
			for _, p := range top.Processes {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	cmd.Flags().SetInterspersed(false) // `top c -ef`: -ef is ps's
	return cmd
}
