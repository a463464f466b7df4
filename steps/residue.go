package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"berth/steps/testkit"
)

// newResidueCommand lets `make test` compare the host before and after the
// whole suite: `steps residue save F` before, `steps residue check F` after.
func newResidueCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "residue save|check FILE",
		Short:  "Snapshot the host's mounts, links, netns, cgroups, rules and processes, or compare with a snapshot",
		Hidden: true,
	}
	cmd.AddCommand(&cobra.Command{
		Use:  "save FILE",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := testkit.TakeSnapshot()
			if err != nil {
				return err
			}
			return testkit.SaveSnapshot(args[0], s)
		},
	}, &cobra.Command{
		Use:  "check FILE",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			before, err := testkit.LoadSnapshot(args[0])
			if err != nil {
				return err
			}
			after, err := testkit.TakeSnapshot()
			if err != nil {
				return err
			}
			if diff := before.Diff(after); len(diff) > 0 {
				return fmt.Errorf("the test suite left the host changed:\n  %s", strings.Join(diff, "\n  "))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "residue: none (mounts, links, netns, cgroups, rules and processes as before)")
			return nil
		},
	})
	return cmd
}
