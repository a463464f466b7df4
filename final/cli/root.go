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
	execRoot  string   // --exec-root
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
	root := newRootCommand(b, commandName(b.args))
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

// topLevel are berth's commands, by name, in the order help lists them.
// A table rather than the commands themselves: making a command makes its
// flags, and making all of them (run and create have sixty flags each)
// took a millisecond of every berth command; execute makes only the one
// its arguments name (TestTopLevelNamesItsCommands keeps the names true).
var topLevel = []struct {
	name, group string
	make        func(*berthCLI) *cobra.Command
}{
	{"run", "containers", newRunCommand}, {"create", "containers", newCreateCommand},
	{"start", "containers", newStartCommand}, {"ps", "containers", newPsCommand},
	{"logs", "containers", newLogsCommand}, {"exec", "containers", newExecCommand},
	{"attach", "containers", newAttachCommand}, {"stop", "containers", newStopCommand},
	{"kill", "containers", newKillCommand}, {"restart", "containers", newRestartCommand},
	{"wait", "containers", newWaitCommand}, {"rm", "containers", newRmCommand},
	{"inspect", "containers", newInspectCommand}, {"top", "containers", newTopCommand},
	{"stats", "containers", newStatsCommand},
	{"network", "management", newNetworkCommand}, {"volume", "management", newVolumeCommand},
	{"import", "management", newImportCommand},
	{"images", "management", func(b *berthCLI) *cobra.Command { return newImagesCommand(b, "images") }},
	{"pull", "management", newPullCommand}, {"push", "management", newPushCommand},
	{"tag", "management", newTagCommand},
	{"rmi", "management", func(b *berthCLI) *cobra.Command { return newRmiCommand(b, "rmi") }},
	{"history", "management", newHistoryCommand}, {"save", "management", newSaveCommand},
	{"load", "management", newLoadCommand}, {"image", "management", newImageCommand},
	{"system", "management", newSystemCommand},
	{"commit", "containers", newCommitCommand}, {"export", "containers", newExportCommand},
	{"cp", "containers", newCpCommand},
	{"version", "engine", newVersionCommand}, {"info", "engine", newInfoCommand},
}

// commandName is the top-level command args name: their first argument
// that is neither a global flag nor its value. "" when there is none, or
// when a flag comes first (berth --help, berth --version).
func commandName(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--root" || a == "--exec-root":
			i++ // its value
		case strings.HasPrefix(a, "--root="), strings.HasPrefix(a, "--exec-root="):
		case strings.HasPrefix(a, "-"):
			return ""
		default:
			return a
		}
	}
	return ""
}

// newRootCommand makes berth's root command with the top-level command
// named only, when it is one of berth's, else with all of them (for help,
// and for an unknown command's suggestions).
func newRootCommand(b *berthCLI, only string) *cobra.Command {
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
	execRoot, _ := b.lookupEnv("BERTH_EXEC_ROOT")
	root.PersistentFlags().StringVar(&b.execRoot, "exec-root", execRoot,
		"Directory of what lives only while the host runs: monitors' sockets, containers' bundles (env BERTH_EXEC_ROOT; default "+engine.DefaultExecRoot+", or ROOT/run with another --root)")

	root.AddGroup(
		&cobra.Group{ID: "containers", Title: "Containers:"},
		&cobra.Group{ID: "management", Title: "Networks, volumes and images:"},
		&cobra.Group{ID: "engine", Title: "The engine:"},
	)
	known := false
	for _, t := range topLevel {
		known = known || t.name == only
	}
	for _, t := range topLevel {
		if known && t.name != only {
			continue
		}
		c := t.make(b)
		c.GroupID = t.group
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
	e, err := engine.Open(engine.Options{Root: b.root, ExecRoot: b.execRoot})
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
