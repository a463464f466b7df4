//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

// Version is berth's version, set at build time with
// -ldflags "-X berth/final/cli.Version=v1.0.0".
var Version = "dev"

// berthCLI is what every command shares: the streams, the global flags and
// the engine, opened on first use.
type berthCLI struct {
	in        io.Reader
	out, err  io.Writer
	args      []string // the command line, for the messages that suggest re-running it
	root      string   // --root
	lookupEnv func(string) (string, bool)

	eng *engine.Engine
}

// Execute runs berth with args (without the program's name) and returns
// the status to exit with.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	b := &berthCLI{in: stdin, out: stdout, err: stderr, args: args, lookupEnv: os.LookupEnv}
	return b.execute(context.Background())
}

func (b *berthCLI) execute(ctx context.Context) int {
	defer func() {
		if b.eng != nil {
			_ = b.eng.Close()
		}
	}()
	root := newRootCommand(b)
	root.SetArgs(b.args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se statusError
	if errors.As(err, &se) {
		if se.status != "" {
			fmt.Fprintln(b.err, se.status)
		}
		return se.code
	}
	fmt.Fprintln(b.err, "berth:", err)
	return 1
}

func newRootCommand(b *berthCLI) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth [OPTIONS] COMMAND [ARG...]",
		Short: "A container engine built one kernel mechanism at a time",
		Long: `berth runs containers the way docker does: images of read-only layers, a
writable layer on top, namespaces, cgroups, overlayfs and a bridge network.
It needs root for everything but --help and "berth version".`,
		Version:               Version,
		Args:                  cobra.ArbitraryArgs,
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
		CompletionOptions:     cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	root.SetIn(b.in)
	root.SetOut(b.out)
	root.SetErr(b.err)
	root.SetVersionTemplate("berth version {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)

	defaultRoot := engine.DefaultRoot
	if v, ok := b.lookupEnv("BERTH_ROOT"); ok && v != "" {
		defaultRoot = v
	}
	root.PersistentFlags().StringVar(&b.root, "root", defaultRoot, "Directory of berth's state (env BERTH_ROOT)")

	root.AddGroup(
		&cobra.Group{ID: "containers", Title: "Containers:"},
		&cobra.Group{ID: "management", Title: "Networks, volumes and images:"},
		&cobra.Group{ID: "engine", Title: "The engine:"},
	)
	for _, c := range []*cobra.Command{
		newRunCommand(b), newCreateCommand(b), newStartCommand(b), newPsCommand(b),
		newLogsCommand(b), newExecCommand(b), newAttachCommand(b), newStopCommand(b),
		newKillCommand(b), newRestartCommand(b), newWaitCommand(b), newRmCommand(b),
		newInspectCommand(b), newTopCommand(b), newStatsCommand(b),
	} {
		c.GroupID = "containers"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newNetworkCommand(b), newVolumeCommand(b), newImportCommand(b)} {
		c.GroupID = "management"
		root.AddCommand(c)
	}
	for _, c := range append(imageCommands(b), containerFSCommands(b)...) {
		if c.GroupID == "" {
			c.GroupID = "management"
		}
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newVersionCommand(b), newInfoCommand(b)} {
		c.GroupID = "engine"
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("engine")
	return root
}

// engine opens the engine the first time a command needs it.
func (b *berthCLI) engine() (*engine.Engine, error) {
	if b.eng != nil {
		return b.eng, nil
	}
	e, err := engine.Open(engine.Options{Root: b.root})
	if err != nil {
		denied := errors.Is(err, fs.ErrPermission) || os.Geteuid() != 0 && strings.Contains(err.Error(), "permission denied")
		if denied && !strings.Contains(err.Error(), "sudo") {
			return nil, fmt.Errorf("%w: run as root (sudo berth %s)", err, strings.Join(b.args, " "))
		}
		return nil, err
	}
	b.eng = e
	return e, nil
}
