package cgroup_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cgroup "berth/03-cgroups"
)

const (
	mountinfoV2 = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
35 30 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	// This course's CI host: v1 controllers, cpu and cpuacct apart, and
	// cgroup2 beside them.
	mountinfoHybrid = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	mountinfoV1 = `30 22 0:27 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`
)

func TestParseMountinfo(t *testing.T) {
	l, err := cgroup.ParseMountinfo(strings.NewReader(mountinfoV2))
	require.NoError(t, err)
	assert.Equal(t, cgroup.Layout{Mode: "v2", V2: "/sys/fs/cgroup", V1: map[string]string{}}, l)

	l, err = cgroup.ParseMountinfo(strings.NewReader(mountinfoHybrid))
	require.NoError(t, err)
	assert.Equal(t, "hybrid", l.Mode)
	assert.Equal(t, "/sys/fs/cgroup/unified", l.V2)
	assert.Equal(t, map[string]string{
		"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "cpuset": "/sys/fs/cgroup/cpuset",
		"memory": "/sys/fs/cgroup/memory", "freezer": "/sys/fs/cgroup/freezer", "pids": "/sys/fs/cgroup/pids",
	}, l.V1, "name=systemd is a named hierarchy, not a controller")

	l, err = cgroup.ParseMountinfo(strings.NewReader(mountinfoV1))
	require.NoError(t, err)
	assert.Equal(t, "v1", l.Mode)
	assert.Equal(t, "/sys/fs/cgroup/cpu,cpuacct", l.V1["cpu"])
	assert.Equal(t, l.V1["cpu"], l.V1["cpuacct"], "co-mounted controllers share a hierarchy")

	_, err = cgroup.ParseMountinfo(strings.NewReader("26 1 254:0 / / rw - ext4 /dev/vda rw\n"))
	assert.ErrorIs(t, err, cgroup.ErrNoCgroups)
}

func TestLayoutPicksTheManager(t *testing.T) {
	l, err := cgroup.ParseMountinfo(strings.NewReader(mountinfoHybrid))
	require.NoError(t, err)
	m, err := l.Manager("web")
	require.NoError(t, err)
	assert.Contains(t, m.Paths(), "/sys/fs/cgroup/memory/berth/web", "a hybrid host's controllers are v1's")

	l, err = cgroup.ParseMountinfo(strings.NewReader(mountinfoV2))
	require.NoError(t, err)
	m, err = l.Manager("web")
	require.NoError(t, err)
	assert.Equal(t, []string{"/sys/fs/cgroup/berth/web"}, m.Paths())
}
