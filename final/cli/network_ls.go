//go:build linux

package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func newNetworkLsCommand(b *berthCLI) *cobra.Command {
	var quiet, noTrunc bool
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS]",
		Aliases:               []string{"list"},
		Short:                 "List networks",
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			list, err := e.NetworkList(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
			if quiet {
				for _, n := range list {
					fmt.Fprintln(b.out, shortID(n.ID, noTrunc))
				}
				return nil
			}
			t := newTable(b.out)
			fmt.Fprintln(t, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
			for _, n := range list {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", shortID(n.ID, noTrunc), n.Name, n.Driver, n.Scope)
			}
			return t.Flush()
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	fs.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	return cmd
}

func shortID(id string, noTrunc bool) string {
	if noTrunc {
		return id
	}
	return truncateID(id)
}
