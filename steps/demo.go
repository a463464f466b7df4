package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"berth/steps/testkit/narrate"
)

func newDemoCommand() *cobra.Command {
	var pause bool
	cmd := &cobra.Command{
		Use:   "demo N",
		Short: "Run chapter N's narrated demo",
		Long: `demo runs chapter N's demo: each beat says what is about to happen and the
system call or file behind it, does it for real, and shows the evidence.
With --pause it waits for Enter between beats (for live teaching). Ctrl-C at
any moment undoes everything the demo made.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return fmt.Errorf("demo: %q is not a chapter number (try: steps list)", args[0])
			}
			c, ok := findChapter(n)
			if !ok {
				return fmt.Errorf("demo: there is no chapter %d (try: steps list)", n)
			}
			if !c.ready() {
				return fmt.Errorf("demo: chapter %d (%s) is not written yet (issue %d)", n, c.Title, c.Issue)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			nar := narrate.New(cmd.OutOrStdout(), cmd.InOrStdin(), pause)
			runErr := c.Demo(ctx, nar)
			cleanErr := nar.Cleanup()
			if runErr == context.Canceled || ctx.Err() != nil {
				fmt.Fprintln(cmd.OutOrStdout(), "\n    interrupted: everything the demo made has been undone.")
				return exitError{130}
			}
			if runErr != nil {
				return fmt.Errorf("demo %d: %w", n, runErr)
			}
			if cleanErr != nil {
				return fmt.Errorf("demo %d: %w", n, cleanErr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\n    Chapter %02d's demo is done. Read %s, then: go run ./steps check %d\n", n, c.Doc, n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&pause, "pause", false, "wait for Enter between beats (live teaching)")
	return cmd
}
