//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type statsOptions struct {
	all      bool
	noStream bool
	noTrunc  bool
}

// statsInterval is how often stats samples, as docker: CPU % is the CPU
// time used between two samples over the time that passed.
const statsInterval = time.Second

func newStatsCommand(b *berthCLI) *cobra.Command {
	var o statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		Long: `stats shows what containers use — CPU, memory, network, block I/O,
processes — redrawn every second; --no-stream prints one table and exits.
Without arguments it shows every running container (-a: every container).`,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			return b.stats(cmd.Context(), e, args, o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	fs.BoolVar(&o.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fs.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	return cmd
}

func (b *berthCLI) stats(ctx context.Context, e *engine.Engine, names []string, o statsOptions) error {
	_, clear := terminalFd(b.out) // redraw in place on a terminal; append otherwise
	prev := map[string]engine.Stats{}
	sample := func() ([]statsRow, error) {
		targets := names
		if len(names) == 0 {
			list, err := e.List(ctx, engine.ListOptions{All: o.all})
			if err != nil {
				return nil, err
			}
			targets = nil
			for _, c := range list {
				targets = append(targets, c.ID)
			}
		}
		var rows []statsRow
		for _, name := range targets {
			s, err := e.Stats(ctx, name)
			switch {
			case errors.Is(err, engine.ErrNotRunning):
				rows = append(rows, statsRow{id: name, name: name, invalid: true})
				continue
			case err != nil && len(names) == 0:
				continue // gone since the list: not an error
			case err != nil:
				return nil, err
			}
			p, seen := prev[s.ID]
			prev[s.ID] = s
			if !seen {
				p = s // the first sample has nothing to compare with: 0 %
			}
			rows = append(rows, newStatsRow(p, s))
		}
		return rows, nil
	}
	// A first sample, then one a second later to measure CPU against.
	if _, err := sample(); err != nil {
		return err
	}
	ticker := time.NewTicker(statsInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		rows, err := sample()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if clear && !o.noStream {
			buf.WriteString("\033[H\033[J") // cursor home, clear to the end
		}
		if err := writeStats(&buf, rows, !o.noTrunc); err != nil {
			return err
		}
		if _, err := b.out.Write(buf.Bytes()); err != nil {
			return err
		}
		if o.noStream {
			return nil
		}
	}
}

// statsRow is one container's line in stats's table.
type statsRow struct {
	id, name               string
	cpuPercent, memPercent float64
	mem, memLimit          uint64
	netRx, netTx           uint64
	blockRead, blockWrite  uint64
	pids                   uint64
	invalid                bool // not running: dashes
}

func newStatsRow(prev, cur engine.Stats) statsRow {
	r := statsRow{
		id: cur.ID, name: strings.TrimPrefix(cur.Name, "/"),
		cpuPercent: cpuPercent(prev, cur),
		mem:        cur.MemoryUsage, memLimit: cur.MemoryLimit,
		netRx: cur.NetRx, netTx: cur.NetTx,
		blockRead: cur.BlockRead, blockWrite: cur.BlockWrite,
		pids: cur.Pids,
	}
	if cur.MemoryLimit != 0 {
		r.memPercent = float64(cur.MemoryUsage) / float64(cur.MemoryLimit) * 100
	}
	return r
}

// cpuPercent is docker's CPU %: the container's CPU time between two
// samples over the host's, times the number of CPUs — so a container
// that keeps two CPUs busy shows 200 %.
func cpuPercent(prev, cur engine.Stats) float64 {
	if cur.CPUNanos <= prev.CPUNanos || cur.SystemNanos <= prev.SystemNanos {
		return 0
	}
	cpus := cur.OnlineCPUs
	if cpus == 0 {
		cpus = 1
	}
	cpu := float64(cur.CPUNanos - prev.CPUNanos)
	system := float64(cur.SystemNanos - prev.SystemNanos)
	return cpu / system * float64(cpus) * 100
}

func writeStats(w io.Writer, rows []statsRow, trunc bool) error {
	t := newTable(w)
	fmt.Fprintln(t, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, r := range rows {
		fmt.Fprintln(t, strings.Join(r.cells(trunc), "\t"))
	}
	return t.Flush()
}

func (r statsRow) cells(trunc bool) []string {
	id := r.id
	if trunc {
		id = truncateID(id)
	}
	name := r.name
	if name == "" {
		name = "--"
	}
	if r.invalid {
		return []string{id, name, "--", "-- / --", "--", "--", "--", "--"}
	}
	percent := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }
	pair := func(a, b uint64, f func(float64) string) string { return f(float64(a)) + " / " + f(float64(b)) }
	return []string{
		id,
		name,
		percent(r.cpuPercent),
		pair(r.mem, r.memLimit, bytesSize),
		percent(r.memPercent),
		pair(r.netRx, r.netTx, humanSize),
		pair(r.blockRead, r.blockWrite, humanSize),
		strconv.FormatUint(r.pids, 10),
	}
}
