package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the chapters, their packages and docs, and whether this host can run them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			results := hostChecks()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "N\tCHAPTER\tPACKAGE\tDOC\tSTATUS\tRUNS HERE")
			for _, c := range chapters {
				status := c.status()
				if !c.ready() {
					status = fmt.Sprintf("planned (issue %d)", c.Issue)
				}
				here := "yes"
				if ok, why := runnable(c, results); !ok {
					here = "no: " + why + " (see steps doctor)"
				}
				fmt.Fprintf(w, "%02d\t%s\t./%s\t%s\t%s\t%s\n", c.N, c.Title, c.Slug, c.Doc, status, here)
			}
			return w.Flush()
		},
	}
}
