package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit code out of a command without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "steps",
		Short: "The berth course runner: list the chapters, check the host, run demos and tests",
		Long: `steps drives the berth course, a container engine built one kernel mechanism
at a time. Start with "doctor", then follow the chapters in order: read
docs/NN-*.md, run "demo N", read the chapter's code, prove it with "check N".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newListCommand(), newDoctorCommand(), newDemoCommand(), newCheckCommand(), newResidueCommand(), newRootfsCommand())
	return root
}

func execute() int {
	err := newRootCommand().Execute()
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "steps:", err)
	return 1
}
