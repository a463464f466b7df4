//go:build linux

package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newVersionCommand(b *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the berth version information",
		Long: `version prints the client's version, then the engine's. The client part
needs no root; the engine's needs its state directory.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeClientVersion(b.out)
			e, err := b.engine()
			if err != nil {
				return err
			}
			fmt.Fprintln(b.out)
			writeEngineVersion(b.out, e.Version())
			return nil
		},
	}
}

// buildInfo is the commit and time this binary was built from, when Go
// recorded them.
func buildInfo() (commit, built string) {
	commit, built = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 7 {
				commit = commit[:7]
			}
		case "vcs.time":
			built = s.Value
		}
	}
	return
}

func writeClientVersion(w io.Writer) {
	commit, built := buildInfo()
	t := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(t, "Client:")
	fmt.Fprintf(t, " Version:\t%s\n", Version)
	fmt.Fprintf(t, " Go version:\t%s\n", runtime.Version())
	fmt.Fprintf(t, " Git commit:\t%s\n", commit)
	fmt.Fprintf(t, " Built:\t%s\n", built)
	fmt.Fprintf(t, " OS/Arch:\t%s/%s\n", runtime.GOOS, runtime.GOARCH)
	_ = t.Flush()
}

func writeEngineVersion(w io.Writer, v engine.Version) {
	name := v.Platform.Name
	if name == "" {
		name = "berth engine"
	}
	t := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(t, "Server: %s\n", name)
	fmt.Fprintln(t, " Engine:")
	fmt.Fprintf(t, "  Version:\t%s\n", v.Version)
	api := v.APIVersion
	if v.MinAPIVersion != "" {
		api += " (minimum version " + v.MinAPIVersion + ")"
	}
	fmt.Fprintf(t, "  API version:\t%s\n", api)
	fmt.Fprintf(t, "  Go version:\t%s\n", v.GoVersion)
	fmt.Fprintf(t, "  Git commit:\t%s\n", v.GitCommit)
	fmt.Fprintf(t, "  OS/Arch:\t%s/%s\n", v.Os, v.Arch)
	fmt.Fprintf(t, "  Kernel Version:\t%s\n", v.KernelVersion)
	_ = t.Flush()
}
