//go:build linux

package cli

import (
	"github.com/spf13/cobra"
)

func newAttachCommand(b *berthCLI) *cobra.Command {
	var (
		noStdin, sigProxy bool
		detachKeys        string
	)
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Long: `attach connects berth's stdin, stdout and stderr to a running container's,
until it exits (berth exits with its status) or the detach keys are typed.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateDetachKeys(detachKeys); err != nil {
				return flagError(cmd, err)
			}
			ctx := cmd.Context()
			e, err := b.engine()
			if err != nil {
				return err
			}
			c, err := e.Inspect(ctx, args[0])
			if err != nil {
				return err
			}
			s := attachSpec{detachKeys: detachKeys}
			if c.Config != nil {
				s.tty = c.Config.Tty
				s.stdin = !noStdin && c.Config.OpenStdin
			}
			if err := b.checkTTY(s.stdin, s.tty); err != nil {
				return err
			}
			opts, restore, err := b.attach(s)
			if err != nil {
				return err
			}
			defer restore()
			if sigProxy && !s.tty {
				proxy := proxySignals(ctx, e, c.ID)
				proxy.running() // it is: attach refuses a stopped container
				defer proxy.stop()
			}
			att, err := e.Attach(ctx, c.ID, opts)
			if err != nil {
				return err
			}
			code, err := att.Wait()
			restore()
			return attachmentStatus(code, err)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	fs.BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	fs.StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}
