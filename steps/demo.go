package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"berth/steps/testkit/narrate"
)

func newDemoCommand() *cobra.Command {
	var pause bool
	cmd := &cobra.Command{
		Use:   "demo N|all",
		Short: "Run chapter N's narrated demo (all: every written chapter's, in order)",
		Long: `demo runs chapter N's demo: each beat says what is about to happen and the
system call or file behind it, does it for real, and shows the evidence.
With --pause it waits for Enter between beats (for live teaching). Ctrl-C at
any moment undoes everything the demo made.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var todo []chapter
			if args[0] == "all" {
				for _, c := range chapters {
					if c.ready() {
						todo = append(todo, c)
					}
				}
			} else {
				c, err := chapterArg(args[0])
				if err != nil {
					return fmt.Errorf("demo: %w", err)
				}
				todo = append(todo, c)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// One narrator for the whole run: it owns the reader of stdin.
			nar := narrate.New(cmd.OutOrStdout(), cmd.InOrStdin(), pause)
			for _, c := range todo {
				if err := runDemo(ctx, cmd, nar, c); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&pause, "pause", false, "wait for Enter between beats (live teaching)")
	return cmd
}

// runDemo plays one chapter's demo and undoes everything it made, whether
// it finished, failed or was interrupted.
func runDemo(ctx context.Context, cmd *cobra.Command, nar *narrate.Narrator, c chapter) error {
	out := cmd.OutOrStdout()
	runErr := c.Demo(ctx, nar)
	cleanErr := nar.Cleanup()
	if ctx.Err() != nil {
		fmt.Fprintln(out, "\n    interrupted: everything the demo made has been undone.")
		return exitError{130}
	}
	if runErr != nil {
		return fmt.Errorf("demo %d: %w", c.N, errors.Join(runErr, cleanErr))
	}
	if cleanErr != nil {
		return fmt.Errorf("demo %d: %w", c.N, cleanErr)
	}
	fmt.Fprintf(out, "\n    Chapter %02d's demo is done. Read %s, then: go run ./steps check %d\n", c.N, c.Doc, c.N)
	return nil
}
