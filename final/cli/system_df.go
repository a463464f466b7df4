//go:build linux

package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newSystemDFCommand(b *berthCLI) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show berth disk usage",
		Long: `system df shows what images (the store's blobs and unpacked layers),
containers (their writable layers) and volumes take, and how much of it
nothing uses (RECLAIMABLE: what system prune -a, and --volumes, could take
back). -v lists each image, container and volume.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			du, err := e.SystemDF(cmd.Context())
			if err != nil {
				return failure(1, err)
			}
			if verbose {
				return writeDFVerbose(b.out, du, time.Now())
			}
			return writeDF(b.out, du)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	return cmd
}

// writeDF writes df's summary: a line per kind. Docker adds a line for its
// build cache; berth builds nothing.
func writeDF(w io.Writer, du engine.DiskUsage) error {
	t := newTable(w)
	fmt.Fprintln(t, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	for _, l := range []struct {
		kind                      string
		total, active, size, recl int64
	}{
		{"Images", du.Images.TotalCount, du.Images.ActiveCount, du.Images.TotalSize, du.Images.Reclaimable},
		{"Containers", du.Containers.TotalCount, du.Containers.ActiveCount, du.Containers.TotalSize, du.Containers.Reclaimable},
		{"Local Volumes", du.Volumes.TotalCount, du.Volumes.ActiveCount, du.Volumes.TotalSize, du.Volumes.Reclaimable},
	} {
		fmt.Fprintf(t, "%s\t%d\t%d\t%s\t%s\n", l.kind, l.total, l.active, humanSize4(float64(l.size)), reclaimable(l.recl, l.size))
	}
	return t.Flush()
}

// reclaimable is RECLAIMABLE's cell: the size, and its share of the total.
func reclaimable(n, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s (%d%%)", humanSize4(float64(n)), n*100/total)
	}
	return humanSize4(float64(n))
}

// writeDFVerbose writes df -v: a table per kind.
func writeDFVerbose(w io.Writer, du engine.DiskUsage, now time.Time) error {
	fmt.Fprint(w, "Images space usage:\n\n")
	rows := make([]any, 0)
	for _, r := range imageRows(du.Images.Items, true, now) {
		rows = append(rows, r)
	}
	if err := writeRows(w, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", imageHeader, rows); err != nil {
		return err
	}

	fmt.Fprint(w, "\nContainers space usage:\n\n")
	t := newTable(w)
	fmt.Fprintln(t, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES")
	for _, c := range du.Containers.Items {
		fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", truncateID(c.ID), c.Image, strconv.Quote(ellipsis(c.Command, 20)),
			c.LocalVolumes, humanSize4(float64(c.SizeRw)), ago(time.Unix(c.Created, 0), now), c.Status, containerNames(c.Names, true))
	}
	if err := t.Flush(); err != nil {
		return err
	}

	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	t = newTable(w)
	fmt.Fprintln(t, "VOLUME NAME\tLINKS\tSIZE")
	for _, v := range du.Volumes.Items {
		fmt.Fprintf(t, "%s\t%d\t%s\n", v.Name, v.UsageData.RefCount, humanSize4(float64(v.UsageData.Size)))
	}
	return t.Flush()
}
