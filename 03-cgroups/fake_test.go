package cgroup

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeKernel stands in for cgroupfs: a new directory gets the control files
// the kernel would create, and removing a directory drops its control files
// but refuses a directory that holds groups, as rmdir(2) on cgroupfs does.
type fakeKernel struct {
	t     *testing.T
	files func(dir string) map[string]string // control files for a new group
}

func (k fakeKernel) install() {
	oldMkdir, oldRemove := mkdir, removeDir
	k.t.Cleanup(func() { mkdir, removeDir = oldMkdir, oldRemove })
	mkdir = func(dir string, perm os.FileMode) error {
		if err := os.Mkdir(dir, perm); err != nil {
			return err
		}
		for name, content := range k.files(dir) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	removeDir = func(dir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() {
				return os.Remove(dir) // ENOTEMPTY, as the kernel says EBUSY
			}
		}
		for _, e := range entries {
			os.Remove(filepath.Join(dir, e.Name()))
		}
		return os.Remove(dir)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// fakeV1 lays out v1 hierarchies as this course's CI host has them: cpu and
// cpuacct mounted apart (pass coMount to share one hierarchy instead).
func fakeV1(t *testing.T, coMount bool) map[string]string {
	root := t.TempDir()
	mounts := map[string]string{}
	for _, c := range v1Controllers {
		mounts[c] = filepath.Join(root, c)
	}
	if coMount {
		mounts["cpu"] = filepath.Join(root, "cpu,cpuacct")
		mounts["cpuacct"] = mounts["cpu"]
	}
	for _, m := range mounts {
		write(t, filepath.Join(m, "cgroup.procs"), "1\n")
	}
	write(t, filepath.Join(mounts["cpuset"], "cpuset.cpus"), "0-3\n")
	write(t, filepath.Join(mounts["cpuset"], "cpuset.mems"), "0\n")
	fakeKernel{t: t, files: func(dir string) map[string]string {
		f := map[string]string{"cgroup.procs": ""}
		switch {
		case strings.HasPrefix(dir, mounts["cpuset"]):
			f["cpuset.cpus"], f["cpuset.mems"] = "\n", "\n" // empty, as the kernel makes them
		case strings.HasPrefix(dir, mounts["memory"]):
			f["memory.memsw.limit_in_bytes"] = "9223372036854771712\n"
		case strings.HasPrefix(dir, mounts["freezer"]):
			f["freezer.state"] = "THAWED\n"
		}
		return f
	}}.install()
	return mounts
}

func TestV1WritesDockersValues(t *testing.T) {
	mounts := fakeV1(t, false)
	m, err := NewV1(mounts, "web")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	require.NoError(t, m.Apply(Resources{Memory: 256 << 20, MemorySwap: 512 << 20, CPUs: 1.5, CPUShares: 512, CpusetCPUs: "1-2", PidsLimit: 100}))

	group := func(c, f string) string { return read(t, filepath.Join(mounts[c], "berth", "web", f)) }
	assert.Equal(t, "268435456", group("memory", "memory.limit_in_bytes"))
	assert.Equal(t, "536870912", group("memory", "memory.memsw.limit_in_bytes"))
	assert.Equal(t, "100000", group("cpu", "cpu.cfs_period_us"))
	assert.Equal(t, "150000", group("cpu", "cpu.cfs_quota_us"))
	assert.Equal(t, "512", group("cpu", "cpu.shares"))
	assert.Equal(t, "1-2", group("cpuset", "cpuset.cpus"))
	assert.Equal(t, "0", group("cpuset", "cpuset.mems"), "an unset cpuset is inherited, or no process could join")
	assert.Equal(t, "0-3", read(t, filepath.Join(mounts["cpuset"], "berth", "cpuset.cpus")), "the parent too")
	assert.Equal(t, "100", group("pids", "pids.max"))

	require.NoError(t, m.Add(4242))
	for _, d := range m.Paths() {
		assert.Equal(t, "4242", read(t, filepath.Join(d, "cgroup.procs")), d)
	}
	assert.Len(t, m.Paths(), len(v1Controllers), "one directory per hierarchy")
}

func TestV1CoMountedCPUAndSwaplessHost(t *testing.T) {
	mounts := fakeV1(t, true)
	m, err := NewV1(mounts, "web")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	assert.Len(t, m.Paths(), len(v1Controllers)-1, "cpu and cpuacct share a directory")

	// A host booted without swap accounting has no memsw file: skip it.
	require.NoError(t, os.Remove(filepath.Join(mounts["memory"], "berth", "web", "memory.memsw.limit_in_bytes")))
	require.NoError(t, m.Apply(Resources{Memory: 64 << 20}))
	assert.Equal(t, "67108864", read(t, filepath.Join(mounts["memory"], "berth", "web", "memory.limit_in_bytes")))
	assert.NoFileExists(t, filepath.Join(mounts["memory"], "berth", "web", "memory.memsw.limit_in_bytes"))
}

func TestV1Destroy(t *testing.T) {
	mounts := fakeV1(t, false)
	m, err := NewV1(mounts, "web")
	require.NoError(t, err)
	other, err := NewV1(mounts, "db")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	require.NoError(t, other.Create())

	require.NoError(t, m.Destroy())
	for _, d := range m.Paths() {
		assert.NoDirExists(t, d)
	}
	assert.DirExists(t, filepath.Join(mounts["memory"], "berth"), "another group still uses the parent")
	require.NoError(t, m.Destroy(), "destroying twice is fine")
	require.NoError(t, other.Destroy())
	assert.NoDirExists(t, filepath.Join(mounts["memory"], "berth"), "the last group out removes the parent")
}

func TestNewV1NeedsTheCoreControllers(t *testing.T) {
	_, err := NewV1(map[string]string{"cpu": "/x", "pids": "/y"}, "web")
	assert.ErrorContains(t, err, "the v1 memory controller is not mounted")
	_, err = NewV1(fakeV1(t, false), "../escape")
	assert.ErrorContains(t, err, "invalid group name")
}

// fakeV2 lays out a cgroup2 root offering the usual controllers; a new
// group gets the files of the controllers its parent enabled.
func fakeV2(t *testing.T) string {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n")
	write(t, filepath.Join(root, "cgroup.subtree_control"), "memory\n") // systemd enabled one already
	write(t, filepath.Join(root, "cgroup.procs"), "1\n")
	perController := map[string][]string{
		"cpuset": {"cpuset.cpus", "cpuset.mems"},
		"cpu":    {"cpu.max", "cpu.weight", "cpu.stat"},
		"memory": {"memory.max", "memory.swap.max", "memory.current", "memory.events"},
		"pids":   {"pids.max", "pids.current"},
	}
	fakeKernel{t: t, files: func(dir string) map[string]string {
		f := map[string]string{"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.kill": ""}
		enabled := strings.Fields(strings.ReplaceAll(read(t, filepath.Join(filepath.Dir(dir), "cgroup.subtree_control")), "+", " "))
		f["cgroup.controllers"] = strings.Join(enabled, " ")
		for _, c := range enabled {
			for _, file := range perController[c] {
				f[file] = ""
			}
		}
		return f
	}}.install()
	return root
}

func TestV2WritesDockersValues(t *testing.T) {
	root := fakeV2(t)
	m, err := NewV2(root, "web")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	assert.Equal(t, "+cpuset +cpu +memory +pids", read(t, filepath.Join(root, "cgroup.subtree_control")), "hugetlb, io, rdma and misc are not wanted")
	assert.Equal(t, "+cpuset +cpu +memory +pids", read(t, filepath.Join(root, "berth", "cgroup.subtree_control")))

	require.NoError(t, m.Apply(Resources{Memory: 256 << 20, MemorySwap: 512 << 20, CPUs: 0.5, CPUShares: 1024, CpusetCPUs: "0", CpusetMems: "0", PidsLimit: -1}))
	group := func(f string) string { return read(t, filepath.Join(root, "berth", "web", f)) }
	assert.Equal(t, "268435456", group("memory.max"))
	assert.Equal(t, "268435456", group("memory.swap.max"), "v2 counts swap alone: 512m-256m")
	assert.Equal(t, "50000 100000", group("cpu.max"))
	assert.Equal(t, "39", group("cpu.weight"), "1024 shares is weight 39")
	assert.Equal(t, "0", group("cpuset.cpus"))
	assert.Equal(t, "max", group("pids.max"))

	require.NoError(t, m.Add(4242))
	assert.Equal(t, "4242", group("cgroup.procs"))

	write(t, filepath.Join(root, "berth", "web", "cgroup.procs"), "") // the kernel empties it once all are dead
	var killed string
	remove := removeDir
	removeDir = func(dir string) error {
		if killed == "" {
			killed = read(t, filepath.Join(dir, "cgroup.kill"))
		}
		return remove(dir)
	}
	require.NoError(t, m.Destroy())
	assert.Equal(t, "1", killed, "cgroup.kill ends every process at once")
}

func TestV2ApplyWithoutTheController(t *testing.T) {
	root := fakeV2(t)
	write(t, filepath.Join(root, "cgroup.controllers"), "memory\n") // a host that delegates memory only
	m, err := NewV2(root, "web")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	err = m.Apply(Resources{PidsLimit: 10})
	assert.ErrorContains(t, err, "pids.max needs the pids controller")
	assert.ErrorContains(t, err, "cgroup.subtree_control")
}

func TestV2DestroyRemovesTheGroup(t *testing.T) {
	root := fakeV2(t)
	m, err := NewV2(root, "web")
	require.NoError(t, err)
	require.NoError(t, m.Create())
	require.NoError(t, m.Destroy())
	assert.NoDirExists(t, filepath.Join(root, "berth", "web"))
	assert.NoDirExists(t, filepath.Join(root, "berth"))
	require.NoError(t, m.Destroy(), "idempotent")
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	assert.Equal(t, []string{"cgroup.controllers", "cgroup.procs", "cgroup.subtree_control"}, names)
}

// Another container's teardown removes the shared parent the moment after
// this Create made it: the group's own mkdir fails with ENOENT, and Create
// tries again rather than fail the container.
func TestV1CreateSurvivesTheParentVanishing(t *testing.T) {
	mounts := fakeV1(t, false)
	m, err := NewV1(mounts, "web")
	require.NoError(t, err)
	kernel := mkdir
	vanished := false
	mkdir = func(dir string, perm os.FileMode) error {
		if err := kernel(dir, perm); err != nil {
			return err
		}
		if !vanished && filepath.Base(dir) == Parent {
			vanished = true
			return removeDir(dir) // as a teardown's rmdir would, between our two mkdirs
		}
		return nil
	}
	require.NoError(t, m.Create())
	assert.True(t, vanished, "the race was staged")
	for _, d := range m.Paths() {
		assert.DirExists(t, d)
	}
}
