//go:build linux

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newSystemPruneCommand(b *berthCLI) *cobra.Command {
	var (
		opts  engine.SystemPruneOptions
		force bool
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Long: `system prune removes stopped containers, networks no container is on,
dangling images (with -a, every image no container uses), unpacked layers no
container stands on (their images unpack again when run) and, with
--volumes, anonymous volumes no container mounts. It asks first, unless -f.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && !confirm(b.in, b.out, pruneWarning(opts)) {
				return nil
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			r, err := e.SystemPrune(cmd.Context(), opts)
			for _, s := range []struct {
				title string
				items []string
			}{
				{"Deleted Containers:", r.ContainersDeleted},
				{"Deleted Networks:", r.NetworksDeleted},
				{"Deleted Volumes:", r.VolumesDeleted},
			} {
				if len(s.items) > 0 {
					fmt.Fprintln(b.out, s.title+"\n"+strings.Join(s.items, "\n")+"\n")
				}
			}
			if out := deletedImages(r.ImagesDeleted); out != "" {
				fmt.Fprintln(b.out, out)
			}
			if len(r.LayersDeleted) > 0 {
				fmt.Fprintln(b.out, "Deleted unpacked layers:\n"+strings.Join(r.LayersDeleted, "\n")+"\n")
			}
			fmt.Fprintln(b.out, "Total reclaimed space:", humanSize4(float64(r.SpaceReclaimed)))
			if err != nil {
				return failure(1, err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.All, "all", "a", false, "Remove all unused images not just dangling ones")
	fs.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	fs.BoolVar(&opts.Volumes, "volumes", false, "Prune anonymous volumes")
	return cmd
}

// pruneWarning is docker's question, with berth's unpacked layers where
// docker has its build cache.
func pruneWarning(o engine.SystemPruneOptions) string {
	what := []string{"all stopped containers", "all networks not used by at least one container"}
	if o.Volumes {
		what = append(what, "all anonymous volumes not used by at least one container")
	}
	if o.All {
		what = append(what, "all images without at least one container associated to them")
	} else {
		what = append(what, "all dangling images")
	}
	what = append(what, "unpacked layers no container stands on")
	return "WARNING! This will remove:\n  - " + strings.Join(what, "\n  - ") + "\n\nAre you sure you want to continue?"
}
