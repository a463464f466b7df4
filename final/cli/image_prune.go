//go:build linux

package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newImagePruneCommand(b *berthCLI) *cobra.Command {
	var (
		opts  engine.ImagePruneOptions
		force bool
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Long: `image prune removes the dangling images (those without a name) that no
container uses; with -a, every image no container uses. It asks first,
unless -f.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			warning := "WARNING! This will remove all dangling images."
			if opts.All {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !force && !confirm(b.in, b.out, warning+"\nAre you sure you want to continue?") {
				return nil // docker: a cancelled prune is no error
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			report, err := e.ImagePrune(cmd.Context(), opts)
			if out := deletedImages(report.ImagesDeleted); out != "" {
				fmt.Fprintln(b.out, out)
			}
			if err != nil {
				return failure(1, err)
			}
			fmt.Fprintln(b.out, "Total reclaimed space:", humanSize4(float64(report.SpaceReclaimed)))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.All, "all", "a", false, "Remove all unused images, not just dangling ones")
	fs.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// deletedImages is prune's list of what went, as docker prints it.
func deletedImages(ds []engine.DeleteResponse) string {
	if len(ds) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("Deleted Images:\n")
	for _, d := range ds {
		if d.Untagged != "" {
			fmt.Fprintf(&sb, "untagged: %s\n", d.Untagged)
		} else {
			fmt.Fprintf(&sb, "deleted: %s\n", d.Deleted)
		}
	}
	return sb.String()
}

// confirm asks message on out and reads the answer from in: y or Y goes
// on, anything else (or nothing) does not.
func confirm(in io.Reader, out io.Writer, message string) bool {
	fmt.Fprint(out, message+" [y/N] ")
	sc := bufio.NewScanner(in)
	if !sc.Scan() {
		fmt.Fprintln(out)
		return false
	}
	return strings.EqualFold(strings.TrimSpace(sc.Text()), "y")
}
