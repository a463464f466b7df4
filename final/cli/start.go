//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newStartCommand(b *berthCLI) *cobra.Command {
	var attach, interactive bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Long: `start starts created or stopped containers and prints each as given. With -a
(stdin too with -i) berth stays attached to the container and exits with its
exit status.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateDetachKeys(detachKeys); err != nil {
				return flagError(cmd, err)
			}
			ctx := cmd.Context()
			if attach || interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				return b.startAttachedByName(ctx, args[0], interactive, detachKeys)
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			var failed []string
			for _, name := range args {
				if _, err := e.Start(ctx, name, engine.StartOptions{}); err != nil {
					fmt.Fprintln(b.err, "berth:", message(err))
					failed = append(failed, name)
					continue
				}
				fmt.Fprintln(b.out, name)
			}
			if len(failed) > 0 {
				return fmt.Errorf("failed to start containers: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	fs.BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
	fs.StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// startAttachedByName is start -a: the container's settings decide
// whether there is a terminal and a stdin to attach.
func (b *berthCLI) startAttachedByName(ctx context.Context, name string, interactive bool, detachKeys string) error {
	e, err := b.engine()
	if err != nil {
		return failure(125, err)
	}
	c, err := e.Inspect(ctx, name)
	if err != nil {
		return failure(125, err)
	}
	var s attachSpec
	s.detachKeys = detachKeys
	if c.Config != nil {
		s.tty = c.Config.Tty
		s.stdin = interactive && c.Config.OpenStdin
	}
	// As docker: signals are forwarded when there is no terminal to send
	// ctrl-C through.
	return b.startAttached(ctx, e, c.ID, s, !s.tty)
}

// startAttached starts a container with its streams attached before its
// command runs (run without -d, start -a), and returns its exit status as
// berth's: nil for 0, a statusError otherwise. The attachment ends when
// the container has exited (and, with --rm, is gone), with its status; the
// detach keys end it early, leaving the container running and berth
// exiting 0.
func (b *berthCLI) startAttached(ctx context.Context, e *engine.Engine, id string, s attachSpec, sigProxy bool) error {
	opts, restore, err := b.attach(s)
	if err != nil {
		return failure(125, err)
	}
	defer restore()
	var proxy *signalProxy
	if sigProxy {
		proxy = proxySignals(ctx, e, id)
		defer proxy.stop()
	}
	att, err := e.Start(ctx, id, engine.StartOptions{Attach: &opts, InProcess: s.here})
	if err != nil {
		restore()
		return engineFailure(err)
	}
	if proxy != nil {
		proxy.running()
	}
	if att == nil {
		return failure(125, errors.New("the engine started the container without attaching to it"))
	}
	code, err := att.Wait()
	restore()
	return attachmentStatus(code, err)
}

// attachmentStatus is how berth ends after an attachment: 0 after the
// detach keys, 125 if the attachment broke, else the container's status.
func attachmentStatus(code int, err error) error {
	switch {
	case errors.Is(err, engine.ErrDetached):
		return nil
	case err != nil:
		return failure(125, err)
	case code != 0:
		return statusError{code: code}
	}
	return nil
}
