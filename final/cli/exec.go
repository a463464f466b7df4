//go:build linux

package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newExecCommand(b *berthCLI) *cobra.Command {
	var (
		cfg        engine.ExecConfig
		detachKeys string
		interact   bool
		env        []string
		envFiles   []string
	)
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: `exec runs one more command in a running container's namespaces and cgroup,
and exits with its exit status.`,
		Args:                  requiresMinArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateDetachKeys(detachKeys); err != nil {
				return flagError(cmd, err)
			}
			var err error
			if cfg.Env, err = readEnv(envFiles, env, b.lookupEnv); err != nil {
				return flagError(cmd, err)
			}
			cfg.Cmd = args[1:]
			if !cfg.Detach {
				cfg.AttachStdin = interact
				cfg.AttachStdout, cfg.AttachStderr = true, true
				if err := b.checkTTY(cfg.AttachStdin, cfg.Tty); err != nil {
					return failure(125, err)
				}
			}
			if size, ok := b.terminalSize(); ok && cfg.Tty {
				cfg.ConsoleSize = size
			}
			e, err := b.engine()
			if err != nil {
				return failure(125, err)
			}
			var opts engine.AttachOptions
			restore := func() {}
			if !cfg.Detach {
				opts, restore, err = b.attach(attachSpec{stdin: cfg.AttachStdin, tty: cfg.Tty, detachKeys: detachKeys})
				if err != nil {
					return failure(125, err)
				}
			}
			code, err := e.Exec(cmd.Context(), args[0], cfg, opts)
			restore()
			switch {
			case errors.Is(err, engine.ErrDetached):
				return nil
			case err != nil:
				return engineFailure(err)
			case code != 0:
				return statusError{code: code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false) // CONTAINER COMMAND: the command's flags are its own
	fs.BoolVarP(&cfg.Detach, "detach", "d", false, "Detached mode: run command in the background")
	fs.StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	fs.BoolVarP(&interact, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&cfg.Tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.StringVarP(&cfg.User, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	fs.BoolVar(&cfg.Privileged, "privileged", false, "Give extended privileges to the command")
	fs.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringVarP(&cfg.WorkingDir, "workdir", "w", "", "Working directory inside the container")
	return cmd
}
