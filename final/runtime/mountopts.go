package runtime

import (
	"fmt"
	"strings"
)

// Mount and umount2 flag values, as in <linux/mount.h>. They are spelled
// out here rather than taken from x/sys/unix so that a plan can be built and
// printed on any system; flags_linux_test.go checks them against the
// kernel's.
const (
	msRdonly      = 0x1
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msSynchronous = 0x10
	msRemount     = 0x20
	msMandlock    = 0x40
	msDirsync     = 0x80
	msNoatime     = 0x400
	msNodiratime  = 0x800
	msBind        = 0x1000
	msRec         = 0x4000
	msUnbindable  = 0x20000
	msPrivate     = 0x40000
	msSlave       = 0x80000
	msShared      = 0x100000
	msRelatime    = 0x200000
	msStrictatime = 0x1000000
	msLazytime    = 0x2000000
	mntDetach     = 0x2

	propagationFlags = msUnbindable | msPrivate | msSlave | msShared
)

var mountFlagNames = []struct {
	flag uintptr
	name string
}{
	{msRdonly, "MS_RDONLY"}, {msNosuid, "MS_NOSUID"}, {msNodev, "MS_NODEV"}, {msNoexec, "MS_NOEXEC"},
	{msSynchronous, "MS_SYNCHRONOUS"}, {msRemount, "MS_REMOUNT"}, {msMandlock, "MS_MANDLOCK"},
	{msDirsync, "MS_DIRSYNC"}, {msNoatime, "MS_NOATIME"}, {msNodiratime, "MS_NODIRATIME"},
	{msBind, "MS_BIND"}, {msUnbindable, "MS_UNBINDABLE"}, {msPrivate, "MS_PRIVATE"},
	{msSlave, "MS_SLAVE"}, {msShared, "MS_SHARED"}, {msRelatime, "MS_RELATIME"},
	{msStrictatime, "MS_STRICTATIME"}, {msLazytime, "MS_LAZYTIME"}, {msRec, "MS_REC"},
}

// MountFlags renders mount(2) flags the way the man page spells them,
// MS_BIND|MS_REC; bits without a name are shown in hex.
func MountFlags(f uintptr) string {
	if f == 0 {
		return "0"
	}
	var names []string
	for _, n := range mountFlagNames {
		if f&n.flag != 0 {
			names = append(names, n.name)
			f &^= n.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", f))
	}
	return strings.Join(names, "|")
}

// mountOption is what one option of an OCI mount means to mount(2): set or
// clear a flag, or ask for a propagation change (made by a mount call of
// its own).
type mountOption struct {
	clear bool
	flag  uintptr
}

// mountOptions are the options mount(8) knows as flags. Anything else
// ("mode=755", "size=65536k", "newinstance", "lowerdir=...") goes to the
// filesystem as data.
var mountOptions = map[string]mountOption{
	"ro": {false, msRdonly}, "rw": {true, msRdonly},
	"nosuid": {false, msNosuid}, "suid": {true, msNosuid},
	"nodev": {false, msNodev}, "dev": {true, msNodev},
	"noexec": {false, msNoexec}, "exec": {true, msNoexec},
	"sync": {false, msSynchronous}, "async": {true, msSynchronous},
	"dirsync": {false, msDirsync},
	"mand":    {false, msMandlock}, "nomand": {true, msMandlock},
	"noatime": {false, msNoatime}, "atime": {true, msNoatime},
	"nodiratime": {false, msNodiratime}, "diratime": {true, msNodiratime},
	"relatime": {false, msRelatime}, "norelatime": {true, msRelatime},
	"strictatime": {false, msStrictatime}, "nostrictatime": {true, msStrictatime},
	"lazytime": {false, msLazytime}, "nolazytime": {true, msLazytime},
	"remount": {false, msRemount},
	"bind":    {false, msBind}, "rbind": {false, msBind | msRec},
	"private": {false, msPrivate}, "rprivate": {false, msPrivate | msRec},
	"shared": {false, msShared}, "rshared": {false, msShared | msRec},
	"slave": {false, msSlave}, "rslave": {false, msSlave | msRec},
	"unbindable": {false, msUnbindable}, "runbindable": {false, msUnbindable | msRec},
}

// ignoredOptions are options other runtimes accept that mean nothing to
// mount(2) and that this runtime does not implement; they are dropped
// rather than passed to the filesystem, which would refuse them.
var ignoredOptions = map[string]bool{"defaults": true, "tmpcopyup": true, "notmpcopyup": true, "x-mount.mkdir": true}

// parsedMount is an OCI mount's options sorted out for mount(2).
type parsedMount struct {
	flags       uintptr // for the mount call itself (MS_BIND, MS_REC, MS_RDONLY...)
	propagation uintptr // MS_PRIVATE|MS_REC etc., applied by a second call
	data        string  // comma-separated filesystem options
}

// parseMountOptions splits options into flags, propagation and data, the
// way mount(8) does.
func parseMountOptions(options []string) parsedMount {
	var p parsedMount
	var data []string
	for _, o := range options {
		opt, ok := mountOptions[o]
		switch {
		case ignoredOptions[o]:
		case !ok:
			data = append(data, o)
		case opt.flag&propagationFlags != 0:
			p.propagation |= opt.flag
		case opt.clear:
			p.flags &^= opt.flag
		default:
			p.flags |= opt.flag
		}
	}
	p.data = strings.Join(data, ",")
	return p
}
