//go:build linux

package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type psOptions struct {
	all     bool
	quiet   bool
	noTrunc bool
	last    int
	latest  bool
}

func newPsCommand(b *berthCLI) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:                   "ps [OPTIONS]",
		Short:                 "List containers",
		Long:                  `ps lists the running containers, newest first; -a lists the stopped ones too.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			if o.latest {
				o.last = 1
			}
			list, err := e.List(cmd.Context(), engine.ListOptions{All: o.all || o.last > 0})
			if err != nil {
				return err
			}
			sort.SliceStable(list, func(i, j int) bool { return list[i].Created > list[j].Created })
			if o.last > 0 && len(list) > o.last {
				list = list[:o.last]
			}
			return writePs(b.out, list, o, time.Now())
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	fs.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	fs.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	fs.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	return cmd
}

// writePs writes ps's table (or, with -q, the IDs).
func writePs(w io.Writer, list []engine.Summary, o psOptions, now time.Time) error {
	if o.quiet {
		for _, c := range list {
			id := c.ID
			if !o.noTrunc {
				id = truncateID(id)
			}
			fmt.Fprintln(w, id)
		}
		return nil
	}
	t := newTable(w)
	fmt.Fprintln(t, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, c := range list {
		fmt.Fprintln(t, strings.Join(psRow(c, !o.noTrunc, now), "\t"))
	}
	return t.Flush()
}

// psRow is one container's cells in ps's table.
func psRow(c engine.Summary, trunc bool, now time.Time) []string {
	id, command := c.ID, c.Command
	if trunc {
		id, command = truncateID(id), ellipsis(command, 20)
	}
	image := c.Image
	if strings.HasPrefix(image, "sha256:") && trunc {
		image = truncateID(image)
	}
	if image == "" {
		image = "<no image>"
	}
	ports := make([]portSummary, len(c.Ports))
	for i, p := range c.Ports {
		ports[i] = portSummary{IP: p.IP, PrivatePort: p.PrivatePort, PublicPort: p.PublicPort, Type: p.Type}
	}
	return []string{
		id,
		image,
		strconv.Quote(command),
		ago(time.Unix(c.Created, 0), now),
		c.Status,
		displayablePorts(ports),
		containerNames(c.Names, trunc),
	}
}

// containerNames is the NAMES column: names without their leading slash;
// truncated, only the first.
func containerNames(names []string, trunc bool) string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if trunc && !strings.Contains(n, "/") {
			return n
		}
		out = append(out, n)
	}
	if trunc {
		return ""
	}
	return strings.Join(out, ",")
}
