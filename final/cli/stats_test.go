//go:build linux

package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/engine"
)

func TestCPUPercent(t *testing.T) {
	const second = uint64(1e9)
	sample := func(cpu, system uint64, cpus int) engine.Stats {
		return engine.Stats{CPUNanos: cpu, SystemNanos: system, OnlineCPUs: cpus}
	}
	tests := []struct {
		name      string
		prev, cur engine.Stats
		want      float64
	}{
		// 4 CPUs for a second: the host's counter grows by 4 s.
		{"one CPU busy of four", sample(10*second, 100*second, 4), sample(11*second, 104*second, 4), 100},
		{"two CPUs busy", sample(0, 0, 4), sample(2*second, 4*second, 4), 200},
		{"a quarter of one CPU", sample(0, 0, 2), sample(second/4, 2*second, 2), 25},
		{"idle", sample(5*second, 100*second, 4), sample(5*second, 104*second, 4), 0},
		{"first sample", sample(5*second, 100*second, 4), sample(5*second, 100*second, 4), 0},
		{"counters went back (restarted)", sample(5*second, 100*second, 4), sample(1*second, 104*second, 4), 0},
		{"CPUs unknown: one", sample(0, 0, 0), sample(second/2, second, 0), 50},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, cpuPercent(tt.prev, tt.cur), 1e-9, tt.name)
	}
}

func TestStatsTable(t *testing.T) {
	prev := engine.Stats{ID: "4c01db0b339cb31a7a3b7a58b1e0c0d5", Name: "/web", CPUNanos: 0, SystemNanos: 0, OnlineCPUs: 2}
	cur := prev
	cur.CPUNanos, cur.SystemNanos = 1e9/2, 2e9
	cur.MemoryUsage, cur.MemoryLimit = 3<<20, 64<<20
	cur.NetRx, cur.NetTx = 1234, 648
	cur.BlockRead, cur.BlockWrite = 4_100_000, 0
	cur.Pids = 3
	rows := []statsRow{newStatsRow(prev, cur), {id: "9f1e2d3c4b5a6978", name: "9f1e2d3c4b5a6978", invalid: true}}
	var out bytes.Buffer
	require.NoError(t, writeStats(&out, rows, true))
	assert.Equal(t, ""+
		"CONTAINER ID   NAME               CPU %     MEM USAGE / LIMIT   MEM %     NET I/O         BLOCK I/O    PIDS\n"+
		"4c01db0b339c   web                50.00%    3MiB / 64MiB        4.69%     1.23kB / 648B   4.1MB / 0B   3\n"+
		"9f1e2d3c4b5a   9f1e2d3c4b5a6978   --        -- / --             --        --              --           --\n",
		out.String())
}
