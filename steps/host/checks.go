package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

const rootFix = `re-run as root: sudo env PATH="$PATH" go run ./steps doctor (tests: sudo make test, or go test -exec sudo ./...)`

func (h Host) checkRoot() Result {
	r := Result{Name: "root", Core: true, Needed: "most chapters"}
	if h.Euid == 0 {
		r.Status = OK
		r.Detail = "euid 0"
		return r
	}
	r.Status = Fail
	r.Detail = fmt.Sprintf("euid %d: mounts, namespaces other than user, cgroups and links need root", h.Euid)
	r.Fix = rootFix
	return r
}

func (h Host) checkOverlayfs() Result {
	r := Result{Name: "overlayfs", Core: true, Needed: "chapter 04 onwards"}
	data, err := os.ReadFile(h.path("/proc/filesystems"))
	if err != nil {
		r.Status = Fail
		r.Detail = fmt.Sprintf("reading /proc/filesystems: %v", err)
		r.Fix = "mount /proc: sudo mount -t proc proc /proc"
		return r
	}
	// Lines are "nodev\toverlay" or "\text4": the name is the last field.
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == "overlay" {
			r.Status = OK
			r.Detail = "overlay in /proc/filesystems"
			return r
		}
	}
	r.Status = Fail
	// The module may simply not be loaded yet: the kernel only loads it on
	// the first overlay mount, and only if module autoloading works.
	r.Detail = "overlay not in /proc/filesystems (module not loaded or not built)"
	r.Fix = "sudo modprobe overlay"
	return r
}

// A user namespace sysctl: the file below /proc/sys, the value that allows
// unprivileged user namespaces, and why it may be set otherwise.
type usernsSysctl struct {
	file string
	name string // for sysctl -w
	good func(int) bool
	want string
	why  string
}

var usernsSysctls = []usernsSysctl{
	{"/proc/sys/user/max_user_namespaces", "user.max_user_namespaces", func(v int) bool { return v > 0 }, "15000", "no user namespace may be created"},
	// Debian's own patch, off by default before Debian 11.
	{"/proc/sys/kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone", func(v int) bool { return v == 1 }, "1", "Debian forbids unprivileged user namespaces"},
	// Ubuntu 24.04 lets AppArmor decide, and by default it refuses.
	{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "kernel.apparmor_restrict_unprivileged_userns", func(v int) bool { return v == 0 }, "0", "AppArmor restricts unprivileged user namespaces (Ubuntu 24.04)"},
}

func (h Host) checkUserNamespaces() Result {
	r := Result{Name: "user namespaces", Needed: "chapter 02 (rootless)"}
	var found, problems, fixes []string
	for i, s := range usernsSysctls {
		data, err := os.ReadFile(h.path(s.file))
		if err != nil {
			if i == 0 {
				// Only the first file is always there when the kernel
				// has user namespaces at all.
				r.Status = Warn
				r.Detail = fmt.Sprintf("reading %s: %v", s.file, err)
				r.Fix = "boot a kernel built with CONFIG_USER_NS=y (every distribution kernel is)"
				return r
			}
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q is not a number", s.name, strings.TrimSpace(string(data))))
			fixes = append(fixes, fmt.Sprintf("sudo sysctl -w %s=%s", s.name, s.want))
			continue
		}
		found = append(found, fmt.Sprintf("%s=%d", s.name, v))
		if !s.good(v) {
			problems = append(problems, fmt.Sprintf("%s=%d: %s", s.name, v, s.why))
			fixes = append(fixes, fmt.Sprintf("sudo sysctl -w %s=%s", s.name, s.want))
		}
	}
	if len(problems) == 0 {
		r.Status = OK
		r.Detail = strings.Join(found, ", ")
		return r
	}
	r.Status = Warn
	r.Detail = strings.Join(problems, "; ")
	r.Fix = strings.Join(fixes, " && ") + " (to keep it after a reboot, put the same settings in /etc/sysctl.d/99-berth.conf)"
	return r
}

func (h Host) checkBusybox() Result {
	r := Result{Name: "busybox", Core: true, Needed: "all chapters (tests and demos run inside a busybox rootfs)"}
	if h.Busybox == nil {
		r.Status = Warn
		r.Detail = "not checked"
		r.Fix = "set Host.Busybox (doctor passes testkit.FindBusybox)"
		return r
	}
	path, err := h.Busybox()
	if err != nil {
		r.Status = Fail
		r.Detail = err.Error()
		r.Fix = "sudo apt-get install busybox-static"
		return r
	}
	r.Status = OK
	r.Detail = path
	return r
}

// checkPropagation reports how mounts propagate from and to "/". It is
// information, never a problem: every chapter makes its own mount namespace
// private before mounting, and this says why that line is there.
func (h Host) checkPropagation() Result {
	r := Result{Name: "propagation of /", Status: OK, Needed: "chapters 01, 02, 04"}
	mounts, err := h.mounts()
	if err != nil {
		r.Detail = fmt.Sprintf("unknown (%v)", err)
		return r
	}
	// Several mounts may sit on "/"; the last one in mountinfo is on top,
	// the one processes see.
	var top *mount
	for i := range mounts {
		if mounts[i].Point == "/" {
			top = &mounts[i]
		}
	}
	if top == nil {
		r.Detail = "unknown (no mount at / in mountinfo)"
		return r
	}
	var shared, master string
	for _, tag := range top.Optional {
		switch k, v, _ := strings.Cut(tag, ":"); k {
		case "shared":
			shared = v
		case "master":
			master = v
		}
	}
	const makePrivate = "each chapter makes its mount namespace private (MS_PRIVATE|MS_REC) before mounting, so nothing leaks to the host"
	switch {
	case shared != "" && master != "":
		r.Detail = fmt.Sprintf("shared (shared:%s) and slave (master:%s): mounts propagate in from the host and out to peers; %s", shared, master, makePrivate)
	case shared != "":
		r.Detail = "shared (systemd's default): " + makePrivate
	case master != "":
		r.Detail = fmt.Sprintf("slave (master:%s): mounts propagate in from the host, none propagate out; %s", master, makePrivate)
	default:
		r.Detail = "private: mounts propagate in neither direction (systemd hosts make / shared; " + makePrivate + " either way)"
	}
	return r
}

func (h Host) checkWSL() Result {
	r := Result{Name: "wsl2", Needed: "all chapters"}
	data, err := os.ReadFile(h.path("/proc/version"))
	if err != nil {
		r.Status = OK
		r.Detail = fmt.Sprintf("not WSL (could not read /proc/version: %v)", err)
		return r
	}
	v := strings.ToLower(string(data))
	if !strings.Contains(v, "microsoft") && !strings.Contains(v, "wsl") {
		r.Status = OK
		r.Detail = "not WSL"
		return r
	}
	r.Status = Warn
	r.Detail = "running under WSL2"
	// Without systemd WSL2 leaves cgroups half set up (hybrid, or v1 only on
	// old kernels); with it and a recent kernel, the layout is plain v2.
	r.Fix = "enable systemd: put \"[boot]\" and \"systemd=true\" in /etc/wsl.conf, update the WSL kernel (wsl --update) so cgroup v2 is used, then run wsl --shutdown from Windows and start the distribution again"
	return r
}
