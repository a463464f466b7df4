package unionfs

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Unpack writes the layer alone, whiteouts in overlay's form: the layers
// below are not needed, overlayfs combines them at mount time.
func (overlay) Unpack(r io.Reader, dir string, parents []string) error {
	return unpackNew(r, dir, "", asOverlay)
}

// Prepare makes the container's upper and work directories.
func (overlay) Prepare(layers []string, cdir string) error {
	if len(layers) == 0 {
		return ErrNoLayers
	}
	for _, d := range []string{cdir, Upper(cdir), Work(cdir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("unionfs: %w", err)
		}
	}
	return nil
}

// Diff is the upper directory, read back as a layer.
func (overlay) Diff(w io.Writer, layers []string, cdir string) error {
	return diffUpper(w, Upper(cdir))
}

// Unpack copies the layer below in full, then applies the archive to the
// copy, deleting what its whiteouts name.
func (copier) Unpack(r io.Reader, dir string, parents []string) error {
	base := ""
	if len(parents) > 0 {
		base = parents[len(parents)-1]
	}
	return unpackNew(r, dir, base, byDeletion)
}

// Prepare copies the top layer in full: the container's own root.
func (copier) Prepare(layers []string, cdir string) error {
	if len(layers) == 0 {
		return ErrNoLayers
	}
	if err := os.MkdirAll(FS(cdir), 0o755); err != nil {
		return fmt.Errorf("unionfs: %w", err)
	}
	return copyTree(layers[len(layers)-1], FS(cdir))
}

// Diff compares the container's copy with the top layer.
func (copier) Diff(w io.Writer, layers []string, cdir string) error {
	if len(layers) == 0 {
		return ErrNoLayers
	}
	return diffTrees(w, layers[len(layers)-1], FS(cdir))
}

// MountAll makes the mounts, in order; on failure it undoes those it made.
func MountAll(mounts []Mount) (retErr error) {
	var done []string
	defer func() {
		if retErr != nil {
			for i := len(done) - 1; i >= 0; i-- {
				Unmount(done[i])
			}
		}
	}()
	for _, m := range mounts {
		var err error
		switch m.Type {
		case "bind":
			err = unix.Mount(m.Source, m.Target, "", unix.MS_BIND, "")
		case "overlay":
			err = mountOverlay(m)
		default:
			err = fmt.Errorf("unknown mount type %q", m.Type)
		}
		if err != nil {
			return fmt.Errorf("unionfs: %s: %w", m, err)
		}
		done = append(done, m.Target)
	}
	return nil
}

// mountOverlay uses mount(2) when the options fit: the kernel copies them
// in one page. A longer lowerdir list (many layers, long paths) goes
// through the new mount API, adding one layer at a time with "lowerdir+"
// (Linux 6.8).
func mountOverlay(m Mount) error {
	opts := strings.Join(m.Options, ",")
	if len(opts) < os.Getpagesize() {
		return unix.Mount(m.Source, m.Target, "overlay", 0, opts)
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fd)
	// mount(2)'s source argument, so that mountinfo names it as before.
	if err := unix.FsconfigSetString(fd, "source", m.Source); err != nil {
		return fmt.Errorf("fsconfig source: %w", err)
	}
	for _, o := range m.Options {
		key, value, _ := strings.Cut(o, "=")
		if key == "lowerdir" {
			for _, l := range strings.Split(value, ":") {
				if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
					return fmt.Errorf("%d bytes of options exceed a page, so layers are added one by one with lowerdir+, which failed for %s (it needs Linux 6.8, and takes paths under 256 bytes): %w", len(opts), l, err)
				}
			}
			continue
		}
		if err := unix.FsconfigSetString(fd, key, value); err != nil {
			return fmt.Errorf("fsconfig %s: %w", key, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, m.Target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// Unmount removes the mount at target; a busy one is detached.
func Unmount(target string) error {
	err := unix.Unmount(target, 0)
	if err == unix.EBUSY {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err != nil && err != unix.EINVAL {
		return fmt.Errorf("unionfs: unmounting %s: %w", target, err)
	}
	return nil
}
