package host

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRoot writes files (paths relative to the root, as on the host without
// the leading slash) into a temporary directory standing for "/".
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return root
}

// lookPath finds only the named programs, in /usr/sbin.
func lookPath(found ...string) func(string) (string, error) {
	return func(file string) (string, error) {
		if slices.Contains(found, file) {
			return "/usr/sbin/" + file, nil
		}
		return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
	}
}

// A recorded command line, so tests can assert what was run.
type runner struct {
	calls [][]string
	out   map[string]string // by program base name
	err   map[string]error
}

func (r *runner) run(name string, args ...string) ([]byte, error) {
	r.calls = append(r.calls, append([]string{name}, args...))
	base := filepath.Base(name)
	return []byte(r.out[base]), r.err[base]
}

func fakeHost(t *testing.T, files map[string]string) Host {
	t.Helper()
	r := &runner{}
	return Host{
		Root:     fakeRoot(t, files),
		Euid:     0,
		LookPath: lookPath(),
		Run:      r.run,
	}
}

// Mountinfo fixtures. The hybrid one is the layout of a systemd host booted
// with systemd.unified_cgroup_hierarchy=0, trimmed to what matters.
const (
	rootShared  = "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	rootPrivate = "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"

	mountinfoV2 = rootShared +
		"21 26 0:20 / /proc rw,relatime shared:12 - proc proc rw\n" +
		"22 26 0:21 / /sys rw,relatime shared:2 - sysfs sysfs rw\n" +
		"30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"

	mountinfoHybrid = rootPrivate +
		"22 26 0:21 / /sys rw,relatime - sysfs sysfs rw\n" +
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n" +
		"33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n" +
		"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n" +
		"36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n" +
		"37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n" +
		"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n" +
		"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n" +
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

	// Pure v1 as on older distributions: co-mounted controllers and a
	// mount point with a comma.
	mountinfoV1 = rootPrivate +
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n" +
		"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"35 30 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio\n" +
		"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n" +
		"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
)

func TestStatusString(t *testing.T) {
	assert.Equal(t, "ok", OK.String())
	assert.Equal(t, "warn", Warn.String())
	assert.Equal(t, "FAIL", Fail.String())
}

func TestParseKernelVersion(t *testing.T) {
	tests := []struct {
		release      string
		major, minor int
	}{
		{"6.18.44-fc-v769", 6, 18},
		{"5.15.0-91-generic", 5, 15},
		{"4.19.0-0.bpo.6-amd64", 4, 19},
		{"6.1.0-18-amd64\n", 6, 1},
		{"6.9", 6, 9},
		{"6.10-rc1", 6, 10},
		{"5.10.102.1-microsoft-standard-WSL2", 5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			major, minor, err := ParseKernelVersion(tt.release)
			require.NoError(t, err)
			assert.Equal(t, tt.major, major)
			assert.Equal(t, tt.minor, minor)
		})
	}
	for _, bad := range []string{"", "6", "linux", "x.1", "6.x", "-1.2", "6..1", ".5"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, _, err := ParseKernelVersion(bad)
			assert.ErrorIs(t, err, ErrKernelVersion)
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	mounts, err := parseMountinfo("36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n" +
		"37 36 0:5 /a\\134b /tab\\011here rw - tmpfs none\\040x rw\n")
	require.NoError(t, err)
	require.Len(t, mounts, 2)
	assert.Equal(t, mount{
		ID: 36, Parent: 35, Root: "/mnt1", Point: "/mnt/my disk", Options: "rw,noatime",
		Optional: []string{"master:1", "shared:7"},
		FSType:   "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue",
	}, mounts[0])
	assert.Equal(t, `/a\b`, mounts[1].Root)
	assert.Equal(t, "/tab\there", mounts[1].Point)
	assert.Equal(t, "none x", mounts[1].Source)
	assert.Empty(t, mounts[1].Optional)

	for _, bad := range []string{
		"36 35 98:0 / / rw - ext4",           // no super options
		"36 35 98:0 / / rw ext4 /dev/sda rw", // no separator
		"x 35 98:0 / / rw - ext4 /dev/sda rw",
	} {
		_, err := parseMountinfo(bad)
		assert.Error(t, err, bad)
	}
}

func TestUnescapeOctal(t *testing.T) {
	assert.Equal(t, "a b", unescapeOctal(`a\040b`))
	assert.Equal(t, `a\04`, unescapeOctal(`a\04`), "too short to be an escape")
	assert.Equal(t, `a\9999`, unescapeOctal(`a\9999`), "not octal")
}

func TestCgroupMode(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  CgroupInfo
	}{
		{
			name: "v2",
			files: map[string]string{
				"proc/self/mountinfo":              mountinfoV2,
				"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
			},
			want: CgroupInfo{Mode: "v2", V2Path: "/sys/fs/cgroup", Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}},
		},
		{
			name:  "hybrid",
			files: map[string]string{"proc/self/mountinfo": mountinfoHybrid},
			want: CgroupInfo{Mode: "hybrid", V2Path: "/sys/fs/cgroup/unified",
				Controllers: []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}},
		},
		{
			name:  "v1",
			files: map[string]string{"proc/self/mountinfo": mountinfoV1},
			want:  CgroupInfo{Mode: "v1", Controllers: []string{"cpu", "cpuacct", "memory", "net_cls", "net_prio", "pids"}},
		},
		{
			// cgroup2 somewhere unusual, with a space in its path, as a
			// container might see it.
			name: "v2 at an escaped path",
			files: map[string]string{
				"proc/self/mountinfo":          rootPrivate + "30 26 0:27 / /my\\040cgroup rw - cgroup2 cgroup2 rw\n",
				"my cgroup/cgroup.controllers": "memory pids",
			},
			want: CgroupInfo{Mode: "v2", V2Path: "/my cgroup", Controllers: []string{"memory", "pids"}},
		},
		{
			name: "v2 with an empty controller list",
			files: map[string]string{
				"proc/self/mountinfo":              mountinfoV2,
				"sys/fs/cgroup/cgroup.controllers": "\n",
			},
			want: CgroupInfo{Mode: "v2", V2Path: "/sys/fs/cgroup", Controllers: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fakeHost(t, tt.files).CgroupMode()
			require.NoError(t, err)
			assert.Equal(t, tt.want.Mode, got.Mode)
			assert.Equal(t, tt.want.V2Path, got.V2Path)
			if len(tt.want.Controllers) == 0 {
				assert.Empty(t, got.Controllers)
				return
			}
			assert.Equal(t, tt.want.Controllers, got.Controllers)
		})
	}

	t.Run("no cgroup", func(t *testing.T) {
		_, err := fakeHost(t, map[string]string{"proc/self/mountinfo": rootPrivate}).CgroupMode()
		assert.ErrorIs(t, err, ErrNoCgroup)
	})
	t.Run("v2 without cgroup.controllers", func(t *testing.T) {
		got, err := fakeHost(t, map[string]string{"proc/self/mountinfo": mountinfoV2}).CgroupMode()
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Equal(t, "v2", got.Mode)
	})
	t.Run("no mountinfo", func(t *testing.T) {
		_, err := fakeHost(t, nil).CgroupMode()
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestCheckRoot(t *testing.T) {
	h := fakeHost(t, nil)
	r := h.checkRoot()
	assert.Equal(t, OK, r.Status)
	assert.True(t, r.Core)
	assert.Empty(t, r.Fix)

	h.Euid = 1000
	r = h.checkRoot()
	assert.Equal(t, Fail, r.Status)
	assert.Contains(t, r.Detail, "1000")
	assert.Equal(t, `re-run as root: sudo env PATH="$PATH" go run ./steps doctor (tests: sudo make test, or go test -exec sudo ./...)`, r.Fix)
}

func TestCheckKernel(t *testing.T) {
	tests := []struct {
		release string
		status  Status
		detail  string
	}{
		{"6.18.44-fc-v769\n", OK, "6.18.44-fc-v769 (>= 5.14)"},
		{"5.14.0-284.el9.x86_64", OK, "5.14.0-284.el9.x86_64"},
		{"5.10.0-28-amd64", Warn, "cgroup.kill"},
		{"5.4.0-150-generic", Warn, "5.11"},
		{"4.18.0-553.el8_10.x86_64", Warn, "4.18.0"},
		{"4.9.0-19-amd64", Fail, "4.9.0-19-amd64"},
		{"3.10.0-1160.el7.x86_64", Fail, "< 4.18"},
		{"garbage", Fail, "invalid kernel release"},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			r := fakeHost(t, map[string]string{"proc/sys/kernel/osrelease": tt.release}).checkKernel()
			assert.Equal(t, tt.status, r.Status)
			assert.Contains(t, r.Detail, tt.detail)
			assert.True(t, r.Core)
			assert.Equal(t, tt.status == OK, r.Fix == "", "a Fix exactly when not OK")
		})
	}
	r := fakeHost(t, nil).checkKernel()
	assert.Equal(t, Fail, r.Status)
	assert.NotEmpty(t, r.Fix)
}

func TestCheckCgroups(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		detail []string
		fix    []string
	}{
		{
			name: "v2 complete",
			files: map[string]string{
				"proc/self/mountinfo":              mountinfoV2,
				"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids",
			},
			status: OK,
			detail: []string{"v2 at /sys/fs/cgroup: controllers cpu,cpuset,io,memory,pids"},
		},
		{
			name:   "hybrid complete",
			files:  map[string]string{"proc/self/mountinfo": mountinfoHybrid},
			status: OK,
			detail: []string{"hybrid: v1 controllers blkio,cpu,cpuacct,cpuset,devices,freezer,memory,pids; cgroup2 at /sys/fs/cgroup/unified"},
		},
		{
			name:   "v1 without cpuset",
			files:  map[string]string{"proc/self/mountinfo": mountinfoV1},
			status: Warn,
			detail: []string{"v1: controllers cpu,cpuacct,memory,net_cls,net_prio,pids", "missing cpuset"},
			fix:    []string{"sudo mount -t cgroup -o cpuset cgroup /sys/fs/cgroup/cpuset"},
		},
		{
			name: "v2 without memory",
			files: map[string]string{
				"proc/self/mountinfo":              mountinfoV2,
				"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io pids",
			},
			status: Warn,
			detail: []string{"missing memory"},
			fix:    []string{"echo '+memory' | sudo tee", "cgroup.subtree_control"},
		},
		{
			// What a container sees when its parent delegated nothing.
			name: "v2 with nothing delegated",
			files: map[string]string{
				"proc/self/mountinfo":              mountinfoV2,
				"sys/fs/cgroup/cgroup.controllers": "io",
			},
			status: Fail,
			detail: []string{"controllers io", "missing memory,cpu,pids,cpuset"},
			fix:    []string{"+memory +cpu +pids", "cgroup.subtree_control"},
		},
		{
			name: "v1 with only devices and freezer",
			files: map[string]string{"proc/self/mountinfo": rootPrivate +
				"35 30 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n" +
				"36 30 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"},
			status: Fail,
			detail: []string{"v1: controllers devices,freezer"},
			fix:    []string{"sudo mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory", "-o pids"},
		},
		{
			name:   "no cgroup",
			files:  map[string]string{"proc/self/mountinfo": rootPrivate},
			status: Fail,
			detail: []string{"no cgroup filesystem mounted"},
			fix:    []string{"sudo mount -t cgroup2 cgroup2 /sys/fs/cgroup"},
		},
		{
			name:   "v2 without cgroup.controllers",
			files:  map[string]string{"proc/self/mountinfo": mountinfoV2},
			status: Fail,
			detail: []string{"v2 at /sys/fs/cgroup", "cgroup.controllers"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeHost(t, tt.files).checkCgroups()
			assert.Equal(t, tt.status, r.Status, r.Detail)
			assert.True(t, r.Core)
			assert.Equal(t, "chapter 03", r.Needed)
			for _, s := range tt.detail {
				assert.Contains(t, r.Detail, s)
			}
			for _, s := range tt.fix {
				assert.Contains(t, r.Fix, s)
			}
			assert.Equal(t, tt.status == OK, r.Fix == "", "a Fix exactly when not OK")
		})
	}
}

func TestCheckOverlayfs(t *testing.T) {
	r := fakeHost(t, map[string]string{"proc/filesystems": "nodev\tsysfs\nnodev\tproc\n\text4\nnodev\toverlay\n"}).checkOverlayfs()
	assert.Equal(t, OK, r.Status)
	assert.True(t, r.Core)

	// "overlayfs" is not "overlay": match the whole name.
	r = fakeHost(t, map[string]string{"proc/filesystems": "nodev\tsysfs\n\text4\nnodev\toverlayfs\n"}).checkOverlayfs()
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, "sudo modprobe overlay", r.Fix)

	r = fakeHost(t, nil).checkOverlayfs()
	assert.Equal(t, Fail, r.Status)
}

func TestCheckUserNamespaces(t *testing.T) {
	const (
		max      = "proc/sys/user/max_user_namespaces"
		debian   = "proc/sys/kernel/unprivileged_userns_clone"
		apparmor = "proc/sys/kernel/apparmor_restrict_unprivileged_userns"
	)
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		fix    []string
	}{
		{"plain kernel", map[string]string{max: "63457\n"}, OK, nil},
		{"debian allowed, ubuntu allowed", map[string]string{max: "63457\n", debian: "1\n", apparmor: "0\n"}, OK, nil},
		{"max 0", map[string]string{max: "0\n"}, Warn, []string{"sudo sysctl -w user.max_user_namespaces=15000"}},
		{"debian forbids", map[string]string{max: "63457\n", debian: "0\n"}, Warn, []string{"sudo sysctl -w kernel.unprivileged_userns_clone=1"}},
		{"ubuntu 24.04", map[string]string{max: "63457\n", apparmor: "1\n"}, Warn, []string{"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"}},
		{"both", map[string]string{max: "63457\n", debian: "0\n", apparmor: "1\n"}, Warn, []string{
			"sudo sysctl -w kernel.unprivileged_userns_clone=1 && sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		}},
		{"no user namespaces in the kernel", nil, Warn, []string{"CONFIG_USER_NS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeHost(t, tt.files).checkUserNamespaces()
			assert.Equal(t, tt.status, r.Status, r.Detail)
			assert.False(t, r.Core)
			assert.Equal(t, "chapter 02 (rootless)", r.Needed)
			for _, s := range tt.fix {
				assert.Contains(t, r.Fix, s)
			}
			assert.Equal(t, tt.status == OK, r.Fix == "")
		})
	}
}

func TestCheckVethBridge(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		run := &runner{}
		h := fakeHost(t, nil)
		h.LookPath = lookPath("ip", "unshare")
		h.Run = run.run
		r := h.checkVethBridge()
		assert.Equal(t, OK, r.Status)
		assert.Empty(t, r.Fix)
		require.Len(t, run.calls, 1)
		assert.Equal(t, []string{"/usr/sbin/unshare", "--net", "sh", "-c",
			"ip link add berthdoc0 type veth peer name berthdoc1 && ip link add berthdocbr type bridge"}, run.calls[0])
	})
	t.Run("no veth in the kernel", func(t *testing.T) {
		run := &runner{
			out: map[string]string{"unshare": "RTNETLINK answers: Operation not supported\n"},
			err: map[string]error{"unshare": errors.New("exit status 2")},
		}
		h := fakeHost(t, nil)
		h.LookPath = lookPath("ip", "unshare")
		h.Run = run.run
		r := h.checkVethBridge()
		assert.Equal(t, Warn, r.Status)
		assert.Contains(t, r.Detail, "RTNETLINK answers: Operation not supported")
		assert.Contains(t, r.Detail, "exit status 2")
		assert.Contains(t, r.Fix, "sudo modprobe veth")
	})
	t.Run("in an unprivileged container", func(t *testing.T) {
		run := &runner{
			out: map[string]string{"unshare": "unshare: unshare failed: Operation not permitted\n"},
			err: map[string]error{"unshare": errors.New("exit status 1")},
		}
		h := fakeHost(t, nil)
		h.LookPath = lookPath("ip", "unshare")
		h.Run = run.run
		r := h.checkVethBridge()
		assert.Equal(t, Warn, r.Status)
		assert.Contains(t, r.Fix, "--privileged")
	})
	t.Run("not root", func(t *testing.T) {
		run := &runner{}
		h := fakeHost(t, nil)
		h.LookPath = lookPath("ip", "unshare")
		h.Run = run.run
		h.Euid = 1000
		r := h.checkVethBridge()
		assert.Equal(t, Warn, r.Status)
		assert.Contains(t, r.Detail, "needs root")
		assert.Contains(t, r.Fix, "sudo")
		assert.Empty(t, run.calls, "nothing run without root")
	})
	t.Run("no ip", func(t *testing.T) {
		h := fakeHost(t, nil)
		h.LookPath = lookPath("unshare")
		r := h.checkVethBridge()
		assert.Equal(t, Warn, r.Status)
		assert.Equal(t, "sudo apt-get install iproute2", r.Fix)
	})
	t.Run("no unshare", func(t *testing.T) {
		h := fakeHost(t, nil)
		h.LookPath = lookPath("ip")
		r := h.checkVethBridge()
		assert.Equal(t, Warn, r.Status)
		assert.Equal(t, "sudo apt-get install util-linux", r.Fix)
	})
}

func TestCheckFirewall(t *testing.T) {
	tests := []struct {
		name   string
		found  []string
		out    string
		err    error
		status Status
		detail string
	}{
		{"nft backend and nft", []string{"iptables", "nft"}, "iptables v1.8.9 (nf_tables)\n", nil, OK, "iptables (nf_tables), nft"},
		{"legacy", []string{"iptables"}, "iptables v1.8.9 (legacy)\n", nil, OK, "iptables (legacy)"},
		{"iptables -V fails", []string{"iptables"}, "", errors.New("exit status 1"), OK, "iptables (version unknown: exit status 1)"},
		{"nft only", []string{"nft"}, "", nil, Warn, "iptables not found (only nft; chapter 05 uses the iptables commands)"},
		{"neither", nil, "", nil, Warn, "iptables not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &runner{out: map[string]string{"iptables": tt.out}, err: map[string]error{"iptables": tt.err}}
			h := fakeHost(t, nil)
			h.LookPath = lookPath(tt.found...)
			h.Run = run.run
			r := h.checkFirewall()
			assert.Equal(t, tt.status, r.Status)
			assert.Equal(t, tt.detail, r.Detail)
			if tt.status == OK {
				assert.Empty(t, r.Fix)
			} else {
				assert.Equal(t, "sudo apt-get install iptables", r.Fix)
			}
			if slices.Contains(tt.found, "iptables") {
				assert.Equal(t, [][]string{{"/usr/sbin/iptables", "-V"}}, run.calls)
			}
		})
	}
}

func TestCheckImageTools(t *testing.T) {
	checks := map[string]func(Host) Result{
		"docker-registry": Host.checkRegistry,
		"skopeo":          Host.checkSkopeo,
		"umoci":           Host.checkUmoci,
	}
	versions := map[string]string{
		"docker-registry": "docker-registry github.com/docker/distribution 2.8.2+ds1\n",
		"skopeo":          "skopeo version 1.9.3\n",
		"umoci":           "umoci version 0.4.7+ds-3+b7\n",
	}
	for name, check := range checks {
		t.Run(name, func(t *testing.T) {
			run := &runner{out: versions}
			h := fakeHost(t, nil)
			h.LookPath = lookPath(name)
			h.Run = run.run
			r := check(h)
			assert.Equal(t, name, r.Name)
			assert.Equal(t, OK, r.Status)
			assert.False(t, r.Core)
			assert.True(t, strings.HasPrefix(r.Needed, "chapter 06"), r.Needed)
			want := strings.Fields(versions[name])
			assert.Equal(t, "/usr/sbin/"+name+" "+want[len(want)-1], r.Detail)
			assert.Equal(t, [][]string{{"/usr/sbin/" + name, "--version"}}, run.calls)
			assert.Empty(t, r.Fix)

			// A program that does not say its version is still there.
			h.Run = (&runner{err: map[string]error{name: errors.New("exit status 2")}}).run
			r = check(h)
			assert.Equal(t, OK, r.Status)
			assert.Equal(t, "/usr/sbin/"+name, r.Detail)

			h.LookPath = lookPath()
			r = check(h)
			assert.Equal(t, Warn, r.Status)
			assert.Contains(t, r.Detail, name+" not found")
			assert.Equal(t, "sudo apt-get install "+name, r.Fix)
		})
	}
}

func TestCheckBusybox(t *testing.T) {
	h := fakeHost(t, nil)
	r := h.checkBusybox()
	assert.Equal(t, Warn, r.Status)
	assert.Equal(t, "not checked", r.Detail)

	h.Busybox = func() (string, error) { return "/bin/busybox", nil }
	r = h.checkBusybox()
	assert.Equal(t, OK, r.Status)
	assert.Equal(t, "/bin/busybox", r.Detail)
	assert.True(t, r.Core)

	h.Busybox = func() (string, error) { return "", errors.New("no static busybox found") }
	r = h.checkBusybox()
	assert.Equal(t, Fail, r.Status)
	assert.Contains(t, r.Detail, "no static busybox found")
	assert.Equal(t, "sudo apt-get install busybox-static", r.Fix)
}

func TestCheckPropagation(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		detail    string
	}{
		{"shared", mountinfoV2, "shared (systemd's default)"},
		{"private", mountinfoHybrid, "private"},
		{"slave", "26 1 254:0 / / rw,relatime master:1 - ext4 /dev/vda rw\n", "slave (master:1)"},
		{"shared and slave", "26 1 254:0 / / rw,relatime shared:5 master:1 - ext4 /dev/vda rw\n", "shared (shared:5) and slave (master:1)"},
		// A second mount on / hides the first: the last one counts.
		{"overmounted", rootPrivate + "99 26 0:50 / / rw shared:9 - tmpfs tmpfs rw\n", "shared (systemd's default)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeHost(t, map[string]string{"proc/self/mountinfo": tt.mountinfo}).checkPropagation()
			assert.Equal(t, OK, r.Status)
			assert.False(t, r.Core)
			assert.True(t, strings.HasPrefix(r.Detail, tt.detail), r.Detail)
			assert.Contains(t, r.Detail, "MS_PRIVATE|MS_REC")
			assert.Empty(t, r.Fix)
		})
	}
}

func TestCheckWSL(t *testing.T) {
	tests := []struct {
		version string
		status  Status
	}{
		{"Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0) #1 SMP", Warn},
		{"Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft", Warn},
		{"Linux version 6.6.87.2-custom-wsl (me@box) #1 SMP", Warn},
		{"Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1", OK},
	}
	for _, tt := range tests {
		t.Run(tt.version[:30], func(t *testing.T) {
			r := fakeHost(t, map[string]string{"proc/version": tt.version}).checkWSL()
			assert.Equal(t, tt.status, r.Status)
			if tt.status == OK {
				assert.Equal(t, "not WSL", r.Detail)
				assert.Empty(t, r.Fix)
				return
			}
			assert.Equal(t, "running under WSL2", r.Detail)
			assert.Contains(t, r.Fix, "/etc/wsl.conf")
			assert.Contains(t, r.Fix, "systemd=true")
			assert.Contains(t, r.Fix, "wsl --shutdown")
		})
	}
}

// TestCheck runs every check on a complete fake host: the order and the
// core flags are what doctor relies on.
func TestCheck(t *testing.T) {
	h := fakeHost(t, map[string]string{
		"proc/sys/kernel/osrelease":         "6.1.0-18-amd64\n",
		"proc/self/mountinfo":               mountinfoV2,
		"sys/fs/cgroup/cgroup.controllers":  "cpuset cpu io memory hugetlb pids rdma misc\n",
		"proc/filesystems":                  "nodev\tcgroup2\nnodev\toverlay\n",
		"proc/sys/user/max_user_namespaces": "63457\n",
		"proc/version":                      "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)",
	})
	run := &runner{out: map[string]string{"iptables": "iptables v1.8.9 (nf_tables)"}}
	h.LookPath = lookPath("ip", "unshare", "iptables", "nft", "docker-registry", "skopeo", "umoci")
	h.Run = run.run
	h.Busybox = func() (string, error) { return "/bin/busybox", nil }

	results := h.Check()
	var names, core []string
	for _, r := range results {
		names = append(names, r.Name)
		if r.Core {
			core = append(core, r.Name)
		}
		assert.Equal(t, OK, r.Status, "%s: %s", r.Name, r.Detail)
		assert.NotEmpty(t, r.Needed, r.Name)
		assert.NotEmpty(t, r.Detail, r.Name)
	}
	assert.Equal(t, []string{"root", "kernel", "cgroups", "overlayfs", "user namespaces",
		"veth+bridge", "iptables/nft", "docker-registry", "skopeo", "umoci", "busybox", "propagation of /", "wsl2"}, names)
	assert.Equal(t, []string{"root", "kernel", "cgroups", "overlayfs", "busybox"}, core)

	// An empty host: every core check fails, and each says what to do.
	h = Host{Root: t.TempDir(), Euid: 1000, LookPath: lookPath(), Run: (&runner{}).run,
		Busybox: func() (string, error) { return "", fmt.Errorf("none") }}
	for _, r := range h.Check() {
		if r.Core {
			assert.Equal(t, Fail, r.Status, r.Name)
		}
		if r.Status != OK {
			assert.NotEmpty(t, r.Fix, r.Name)
		}
	}
}
