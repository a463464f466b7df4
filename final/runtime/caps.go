package runtime

import (
	"fmt"
	"strings"
)

// capNames are the capabilities by number, as <linux/capability.h> numbers
// them (capabilities(7)). The kernel may know fewer (an older one) or more
// (a newer one): the init drops from the bounding set every capability it
// knows by number and the spec does not keep, and ignores EINVAL for those
// the kernel lacks.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// DefaultCapabilities is Docker's default capability set: what a container
// keeps of root's powers unless --cap-add or --cap-drop say otherwise.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// capNumber returns the number of a capability named as the OCI spec names
// it ("CAP_NET_RAW"); "NET_RAW" and lower case are accepted too.
func capNumber(name string) (int, error) {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, c := range capNames {
		if c == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q (see capabilities(7))", name)
}

// CapMask is a capability set as a bit mask, the form /proc/PID/status
// shows (CapEff: 00000000a80425fb).
type CapMask uint64

// capMask turns capability names into a mask.
func capMask(names []string) (CapMask, error) {
	var m CapMask
	for _, name := range names {
		n, err := capNumber(name)
		if err != nil {
			return 0, err
		}
		m |= 1 << uint(n)
	}
	return m, nil
}

// Has says whether capability number n is in the set.
func (m CapMask) Has(n int) bool { return n >= 0 && n < 64 && m&(1<<uint(n)) != 0 }

// String renders the mask as /proc/PID/status does.
func (m CapMask) String() string { return fmt.Sprintf("%016x", uint64(m)) }

// Names lists the capabilities in the set, by number.
func (m CapMask) Names() []string {
	var out []string
	for i, c := range capNames {
		if m.Has(i) {
			out = append(out, c)
		}
	}
	return out
}
