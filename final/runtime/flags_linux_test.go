package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The plan spells flags and numbers out so that it can be built anywhere;
// here they are checked against the kernel's values as x/sys/unix has them.
func TestConstantsMatchTheKernel(t *testing.T) {
	for want, got := range map[int]uintptr{
		unix.MS_RDONLY: msRdonly, unix.MS_NOSUID: msNosuid, unix.MS_NODEV: msNodev, unix.MS_NOEXEC: msNoexec,
		unix.MS_SYNCHRONOUS: msSynchronous, unix.MS_REMOUNT: msRemount, unix.MS_MANDLOCK: msMandlock,
		unix.MS_DIRSYNC: msDirsync, unix.MS_NOATIME: msNoatime, unix.MS_NODIRATIME: msNodiratime,
		unix.MS_BIND: msBind, unix.MS_REC: msRec, unix.MS_UNBINDABLE: msUnbindable, unix.MS_PRIVATE: msPrivate,
		unix.MS_SLAVE: msSlave, unix.MS_SHARED: msShared, unix.MS_RELATIME: msRelatime,
		unix.MS_STRICTATIME: msStrictatime, unix.MS_LAZYTIME: msLazytime,
	} {
		assert.EqualValues(t, want, got, MountFlags(got))
	}
	assert.EqualValues(t, unix.MNT_DETACH, mntDetach)
	assert.EqualValues(t, unix.S_IFCHR, sIFCHR)
	assert.EqualValues(t, unix.S_IFBLK, sIFBLK)
	assert.EqualValues(t, unix.S_IFIFO, sIFIFO)

	clone := map[string]int{
		"mount": unix.CLONE_NEWNS, "cgroup": unix.CLONE_NEWCGROUP, "uts": unix.CLONE_NEWUTS, "ipc": unix.CLONE_NEWIPC,
		"user": unix.CLONE_NEWUSER, "pid": unix.CLONE_NEWPID, "network": unix.CLONE_NEWNET, "time": unix.CLONE_NEWTIME,
	}
	for _, k := range nsKinds {
		assert.EqualValues(t, clone[string(k.typ)], k.flag, k.typ)
	}
	assert.Len(t, nsKinds, len(clone))

	for name, n := range rlimits {
		want := map[string]int{
			"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
			"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
			"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
			"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
			"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
			"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
		}[name]
		assert.Equal(t, want, n, name)
	}
	// Capabilities by number, and the signal table, against the kernel's.
	for name, n := range map[string]int{
		"CAP_CHOWN": unix.CAP_CHOWN, "CAP_KILL": unix.CAP_KILL, "CAP_SETPCAP": unix.CAP_SETPCAP,
		"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_NET_RAW": unix.CAP_NET_RAW,
		"CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_MKNOD": unix.CAP_MKNOD,
		"CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "CAP_SETFCAP": unix.CAP_SETFCAP, "CAP_BPF": unix.CAP_BPF,
		"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	} {
		assert.Equal(t, name, capNames[n])
	}
	assert.Len(t, capNames, unix.CAP_LAST_CAP+1)
	for name, n := range signalNames {
		assert.Equal(t, unix.Signal(n), unix.SignalNum("SIG"+canonicalSignal(name)), name)
	}
}

// canonicalSignal maps aliases to the names x/sys/unix knows.
func canonicalSignal(name string) string {
	switch name {
	case "IOT":
		return "ABRT"
	case "CLD":
		return "CHLD"
	case "POLL":
		return "IO"
	}
	return name
}
