package cgroup_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cgroup "berth/03-cgroups"
)

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"1024", 1024, ""},
		{"512m", 512 << 20, ""},
		{"512M", 512 << 20, ""},
		{"1g", 1 << 30, ""},
		{"1.5g", 3 << 29, ""},
		{"64k", 64 << 10, ""},
		{"100mb", 100 << 20, ""},
		{"0", 0, "must be positive"},
		{"-5m", 0, "must be positive"},
		{"lots", 0, "invalid size"},
		{"m", 0, "invalid size"},
		{"", 0, "invalid size"},
		{"5gk", 0, "invalid size"},
		{"100b", 100, ""},
	}
	for _, tt := range tests {
		got, err := cgroup.ParseMemory(tt.in)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseCPUs(t *testing.T) {
	n, err := cgroup.ParseCPUs("0.5")
	require.NoError(t, err)
	assert.Equal(t, 0.5, n)
	for _, bad := range []string{"0", "-1", "half", "NaN", "Inf"} {
		_, err := cgroup.ParseCPUs(bad)
		assert.Error(t, err, bad)
	}
}

func TestLists(t *testing.T) {
	ids, err := cgroup.ParseList("0-2,4,3")
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 3, 4}, ids)
	assert.Equal(t, "0-4", cgroup.FormatList(ids))
	assert.Equal(t, "0,2-3,7", cgroup.FormatList([]int{0, 2, 3, 7}))
	for _, bad := range []string{"", "a", "3-1", "-1", "1,,2"} {
		_, err := cgroup.ParseList(bad)
		assert.Error(t, err, bad)
	}
}

func TestSharesToWeight(t *testing.T) {
	tests := []struct{ shares, weight uint64 }{
		{0, 0}, // unset stays unset
		{2, 1},
		{1024, 39}, // Docker's default share: not v2's default weight (100)
		{2048, 79},
		{262144, 10000},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.weight, cgroup.SharesToWeight(tt.shares), "shares %d", tt.shares)
	}
}

func render(ws []cgroup.Write) string {
	var lines []string
	for _, w := range ws {
		lines = append(lines, w.String())
	}
	return strings.Join(lines, "\n")
}

func TestTranslation(t *testing.T) {
	tests := []struct {
		name   string
		r      cgroup.Resources
		v1, v2 string
	}{
		{"nothing set", cgroup.Resources{}, "", ""},
		{"--memory 256m: as much swap as memory, like Docker", cgroup.Resources{Memory: 256 << 20},
			"echo \"268435456\" > memory/memory.limit_in_bytes\necho \"536870912\" > memory/memory.memsw.limit_in_bytes",
			"echo \"268435456\" > memory.max\necho \"268435456\" > memory.swap.max"},
		{"--memory 256m --memory-swap 256m: no swap", cgroup.Resources{Memory: 256 << 20, MemorySwap: 256 << 20},
			"echo \"268435456\" > memory/memory.limit_in_bytes\necho \"268435456\" > memory/memory.memsw.limit_in_bytes",
			"echo \"268435456\" > memory.max\necho \"0\" > memory.swap.max"},
		{"--memory-swap -1: unlimited swap", cgroup.Resources{Memory: 256 << 20, MemorySwap: -1},
			"echo \"268435456\" > memory/memory.limit_in_bytes\necho \"-1\" > memory/memory.memsw.limit_in_bytes",
			"echo \"268435456\" > memory.max\necho \"max\" > memory.swap.max"},
		{"--cpus 1.5", cgroup.Resources{CPUs: 1.5},
			"echo \"100000\" > cpu/cpu.cfs_period_us\necho \"150000\" > cpu/cpu.cfs_quota_us",
			"echo \"150000 100000\" > cpu.max"},
		{"--cpus 0.5 --cpu-period 50000", cgroup.Resources{CPUs: 0.5, CPUPeriod: 50000},
			"echo \"50000\" > cpu/cpu.cfs_period_us\necho \"25000\" > cpu/cpu.cfs_quota_us",
			"echo \"25000 50000\" > cpu.max"},
		{"--cpu-shares 512", cgroup.Resources{CPUShares: 512},
			"echo \"512\" > cpu/cpu.shares",
			"echo \"20\" > cpu.weight"},
		{"--cpuset-cpus 0-1 --cpuset-mems 0", cgroup.Resources{CpusetCPUs: "0-1", CpusetMems: "0"},
			"echo \"0-1\" > cpuset/cpuset.cpus\necho \"0\" > cpuset/cpuset.mems",
			"echo \"0-1\" > cpuset.cpus\necho \"0\" > cpuset.mems"},
		{"--pids-limit 100", cgroup.Resources{PidsLimit: 100}, "echo \"100\" > pids/pids.max", "echo \"100\" > pids.max"},
		{"--pids-limit -1", cgroup.Resources{PidsLimit: -1}, "echo \"max\" > pids/pids.max", "echo \"max\" > pids.max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.v1, render(tt.r.V1()))
			assert.Equal(t, tt.v2, render(tt.r.V2()))
		})
	}
	assert.Equal(t, []string{"cpuset", "cpu", "memory", "pids"},
		cgroup.Resources{Memory: 1 << 30, CPUs: 1, CpusetCPUs: "0", PidsLimit: 5}.Controllers())
}

func TestValidate(t *testing.T) {
	host := cgroup.Host{CPUs: []int{0, 1}, Mems: []int{0}}
	tests := []struct {
		name    string
		r       cgroup.Resources
		wantErr string
	}{
		{"valid", cgroup.Resources{Memory: 64 << 20, CPUs: 0.5, CPUShares: 512, CpusetCPUs: "1", PidsLimit: 10}, ""},
		{"negative memory", cgroup.Resources{Memory: -1}, "--memory -1: must be positive"},
		{"below the minimum", cgroup.Resources{Memory: 4 << 20}, "the minimum is 6 MiB"},
		{"swap below memory", cgroup.Resources{Memory: 64 << 20, MemorySwap: 32 << 20}, "smaller than --memory"},
		{"swap without memory", cgroup.Resources{MemorySwap: 64 << 20}, "--memory-swap needs --memory"},
		{"bad swap", cgroup.Resources{Memory: 64 << 20, MemorySwap: -2}, "must be -1 (unlimited)"},
		{"more CPUs than the host", cgroup.Resources{CPUs: 3}, "this host has 2 CPUs"},
		{"negative CPUs", cgroup.Resources{CPUs: -0.5}, "must be positive"},
		{"a sliver of CPU", cgroup.Resources{CPUs: 0.001}, "at least 1 ms per period"},
		{"period too long", cgroup.Resources{CPUs: 1, CPUPeriod: 2000000}, "between 1000 and 1000000"},
		{"shares", cgroup.Resources{CPUShares: 1}, "between 2 and 262144"},
		{"cpuset outside the host", cgroup.Resources{CpusetCPUs: "0-3"}, "--cpuset-cpus 0-3: 2 is not available on this host (it has 0-1)"},
		{"cpuset mems outside", cgroup.Resources{CpusetMems: "1"}, "--cpuset-mems 1: 1 is not available"},
		{"unparsable cpuset", cgroup.Resources{CpusetCPUs: "one"}, "--cpuset-cpus: cgroup: invalid list"},
		{"pids", cgroup.Resources{PidsLimit: -5}, "--pids-limit -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate(host)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
	err := cgroup.Resources{Memory: -1, PidsLimit: -9}.Validate(host)
	assert.ErrorContains(t, err, "--memory")
	assert.ErrorContains(t, err, "--pids-limit", "every problem is reported at once")
}
