package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Kernel versions the course cares about.
const (
	// The oldest kernel the course supports; older ones lack
	// pieces of cgroup v2 and of the namespace API the chapters use.
	minMajor, minMinor = 4, 18
	// cgroup.kill (5.14) lets chapter 03 kill a whole cgroup in one write;
	// overlayfs in user namespaces (5.11) lets chapter 04 run rootless.
	goodMajor, goodMinor = 5, 14
)

// ParseKernelVersion returns the major and minor numbers of a kernel release
// as found in /proc/sys/kernel/osrelease or uname -r: "5.15.0-91-generic"
// gives 5, 15. Whatever follows the minor number is the distribution's and is
// ignored.
func ParseKernelVersion(release string) (major, minor int, err error) {
	release = strings.TrimSpace(release)
	majorStr, rest, ok := strings.Cut(release, ".")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q has no major.minor", ErrKernelVersion, release)
	}
	major, err = strconv.Atoi(majorStr)
	if err != nil || major < 0 {
		return 0, 0, fmt.Errorf("%w: %q: bad major number", ErrKernelVersion, release)
	}
	// The minor number ends at the first non-digit: "18.44-fc", "19-rc1".
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, 0, fmt.Errorf("%w: %q: bad minor number", ErrKernelVersion, release)
	}
	minor, err = strconv.Atoi(rest[:end])
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %q: bad minor number: %w", ErrKernelVersion, release, err)
	}
	return major, minor, nil
}

func atLeast(major, minor, wantMajor, wantMinor int) bool {
	return major > wantMajor || (major == wantMajor && minor >= wantMinor)
}

func (h Host) checkKernel() Result {
	r := Result{Name: "kernel", Core: true, Needed: "all chapters"}
	data, err := os.ReadFile(h.path("/proc/sys/kernel/osrelease"))
	if err != nil {
		r.Status = Fail
		r.Detail = fmt.Sprintf("reading the kernel release: %v", err)
		r.Fix = "mount /proc: sudo mount -t proc proc /proc"
		return r
	}
	release := strings.TrimSpace(string(data))
	major, minor, err := ParseKernelVersion(release)
	switch {
	case err != nil:
		r.Status = Fail
		r.Detail = err.Error()
		r.Fix = "check /proc/sys/kernel/osrelease: it should read like 6.1.0-18-amd64"
	case !atLeast(major, minor, minMajor, minMinor):
		r.Status = Fail
		r.Detail = fmt.Sprintf("%s (< %d.%d, the oldest kernel the course supports)", release, minMajor, minMinor)
		r.Fix = "boot a newer kernel from your distribution (Debian 12 ships 6.1): sudo apt-get install linux-image-$(dpkg --print-architecture) && sudo reboot"
	case !atLeast(major, minor, goodMajor, goodMinor):
		r.Status = Warn
		r.Detail = fmt.Sprintf("%s (< %d.%d: no cgroup.kill, which needs 5.14; no overlayfs in user namespaces below 5.11)", release, goodMajor, goodMinor)
		r.Fix = "boot a 5.14 or newer kernel from your distribution (Debian 12 ships 6.1): sudo apt-get install linux-image-$(dpkg --print-architecture) && sudo reboot"
	default:
		r.Status = OK
		r.Detail = fmt.Sprintf("%s (>= %d.%d)", release, goodMajor, goodMinor)
	}
	return r
}
