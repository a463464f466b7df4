//go:build linux

package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type runOptions struct {
	detach     bool
	sigProxy   bool
	detachKeys string
}

func newRunCommand(b *berthCLI) *cobra.Command {
	var (
		o    *containerOptions
		opts runOptions
	)
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: `run creates a container from IMAGE and starts it. Without -d, berth stays
attached to it (stdin too with -i, the terminal in raw mode with -it; detach
with ctrl-p ctrl-q) and exits with the container's exit status.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := parseContainerFlags(cmd.Flags(), o, args, b.lookupEnv)
			if err != nil {
				return flagError(cmd, err)
			}
			if err := validateDetachKeys(opts.detachKeys); err != nil {
				return flagError(cmd, err)
			}
			return b.runContainer(cmd.Context(), req, opts)
		},
	}
	fs := cmd.Flags()
	// IMAGE ends berth's flags: what follows is the container's command line.
	fs.SetInterspersed(false)
	fs.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	fs.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	fs.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	o = addContainerFlags(fs)
	fs.Bool("help", false, "Print usage") // no -h: it is --hostname
	return cmd
}

func (b *berthCLI) runContainer(ctx context.Context, req engine.CreateRequest, opts runOptions) error {
	c := &req.Config
	if opts.detach {
		c.AttachStdin, c.AttachStdout, c.AttachStderr, c.StdinOnce = false, false, false, false
	} else if err := b.checkTTY(c.AttachStdin, c.Tty); err != nil {
		return failure(125, err)
	}
	if c.Tty {
		if size, ok := b.terminalSize(); ok {
			req.HostConfig.ConsoleSize = size
		}
	}
	e, err := b.engine()
	if err != nil {
		return failure(125, err)
	}
	resp, err := b.createPulling(ctx, e, req)
	if err != nil {
		return failure(125, err)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintln(b.err, "WARNING:", w)
	}
	if opts.detach {
		if _, err := e.Start(ctx, resp.ID, engine.StartOptions{}); err != nil {
			return engineFailure(err)
		}
		fmt.Fprintln(b.out, resp.ID)
		return nil
	}
	s := attachSpec{stdin: c.AttachStdin, tty: c.Tty, detachKeys: opts.detachKeys}
	// run --rm in the foreground makes a container nothing outlives: berth
	// monitors it itself, sparing the start of a monitor program (and
	// the container dies if berth is killed). Not with -t or detach keys,
	// which may leave the container running without berth.
	s.here = req.HostConfig.AutoRemove && !c.Tty && opts.detachKeys == ""
	return b.startAttached(ctx, e, resp.ID, s, opts.sigProxy)
}
