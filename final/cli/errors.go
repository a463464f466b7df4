//go:build linux

package cli

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

// statusError ends berth with code, after printing status (if not empty)
// on stderr. A command returns one when it has its own exit status to
// give: a container's, or 125 for a flag; any other error exits 1.
type statusError struct {
	status string
	code   int
}

func (e statusError) Error() string {
	if e.status == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.status
}

// failure is err as berth prints it, ending berth with code.
func failure(code int, err error) error {
	return statusError{status: "berth: " + message(err), code: code}
}

// engineFailure is an engine error in a command whose success is a
// container's status (run, create, start -a, exec): 125, or the runtime's
// 126 and 127 when the command could not be run.
func engineFailure(err error) error {
	return failure(engine.ExitCode(err), err)
}

// engineErrors are the engine's sentinels, whose text starts the messages
// that wrap them ("not found: no such container: web").
var engineErrors = []error{
	engine.ErrImageNotFound, engine.ErrNotFound, engine.ErrConflict,
	engine.ErrInvalid, engine.ErrNotRunning, engine.ErrDetached,
}

// message is err for a user. The engine's messages are written for one;
// the sentinel's text that starts them is for programs, so it goes, and
// what remains reads as docker's do: "No such container: web". berth adds
// what to do about a missing image if the engine did not say.
func message(err error) string {
	msg := err.Error()
	for _, s := range engineErrors {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok && rest != "" && errors.Is(err, s) {
			r, n := utf8.DecodeRuneInString(rest)
			msg = string(unicode.ToUpper(r)) + rest[n:]
			break
		}
	}
	if errors.Is(err, engine.ErrImageNotFound) && !strings.Contains(msg, "berth import") {
		msg += "\nPull the image with `berth pull IMAGE`, or make one from a root filesystem with `berth import ROOTFS.tar IMAGE`."
	}
	return msg
}

// flagError is every command's flag error: 125, as docker.
func flagError(cmd *cobra.Command, err error) error {
	return statusError{
		status: fmt.Sprintf("berth: %v\nSee '%s --help'.", err, cmd.CommandPath()),
		code:   125,
	}
}

// usageError is a wrong command line that is not a flag's: 1, as docker.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return statusError{
		status: fmt.Sprintf("berth: %s\n\nUsage:  %s\n\nSee '%s --help'.", fmt.Sprintf(format, args...), cmd.UseLine(), cmd.CommandPath()),
		code:   1,
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("berth: unknown command: %s %s", cmd.CommandPath(), name)
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return statusError{status: msg + fmt.Sprintf("\n\nRun '%s --help' for more information", cmd.CommandPath()), code: 1}
}

// parentCommand is the RunE of a command that only groups others (network,
// volume): its help without arguments, an unknown command otherwise.
func parentCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

func pluralArgs(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

func requiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return usageError(cmd, "'%s' requires at least %s", cmd.CommandPath(), pluralArgs(n))
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageError(cmd, "'%s' requires exactly %s", cmd.CommandPath(), pluralArgs(n))
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return usageError(cmd, "'%s' requires at least %d and at most %s", cmd.CommandPath(), lo, pluralArgs(hi))
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usageError(cmd, "'%s' accepts no arguments", cmd.CommandPath())
}

// forEach runs do on every argument, printing each one that succeeds on
// stdout (stop, kill, rm... echo what they were given, as docker) and each
// error on stderr; it fails, with status 1, if any did.
func (b *berthCLI) forEach(args []string, do func(arg string) error) error {
	failed := false
	for _, a := range args {
		if err := do(a); err != nil {
			fmt.Fprintln(b.err, "berth:", message(err))
			failed = true
			continue
		}
		fmt.Fprintln(b.out, a)
	}
	if failed {
		return statusError{code: 1}
	}
	return nil
}
