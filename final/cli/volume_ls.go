//go:build linux

package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func newVolumeLsCommand(b *berthCLI) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS]",
		Aliases:               []string{"list"},
		Short:                 "List volumes",
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			list, err := e.VolumeList(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
			if quiet {
				for _, v := range list {
					fmt.Fprintln(b.out, v.Name)
				}
				return nil
			}
			t := newTable(b.out)
			fmt.Fprintln(t, "DRIVER\tVOLUME NAME")
			for _, v := range list {
				fmt.Fprintf(t, "%s\t%s\n", v.Driver, v.Name)
			}
			return t.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	return cmd
}
