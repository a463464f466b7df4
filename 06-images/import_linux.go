package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	unionfs "berth/04-unionfs"

	"golang.org/x/sys/unix"
)

// Export writes a container's filesystem as one tarball, as `docker
// export` does: the merged view of its image's layers (lowest first, as
// Store.Layers returns them) and its own changes in cdir, with deleted
// files simply absent, never whiteouts: a flat root filesystem, which
// Import takes back.
//
// It serves a stopped container and a running one alike. The view is a
// mount of its own (see exportView), read-only, on a temporary directory,
// in a private mount namespace on a thread of its own: nobody else sees
// it, and the container's own mount is left alone. Like docker's, the
// export of a running container is no snapshot: files changed meanwhile
// may be caught half-way. Needs root.
func Export(w io.Writer, s *Store, layers []string, cdir string) error {
	if _, err := os.Stat(cdir); err != nil {
		return fmt.Errorf("image: exporting: the container directory: %w (is the container created?)", err)
	}
	release, err := s.hold() // its layers must not be collected under it
	if err != nil {
		return err
	}
	defer release()
	target, err := os.MkdirTemp("", "berth-export-")
	if err != nil {
		return fmt.Errorf("image: exporting: %w", err)
	}
	defer os.Remove(target) // never RemoveAll: it might still be a mountpoint
	mounts, err := s.Snapshotter().Mounts(layers, cdir, target)
	if err != nil {
		return fmt.Errorf("image: exporting: %w", err)
	}
	view, err := exportView(mounts)
	if err != nil {
		return err
	}
	return inPrivateMountNS(func() (retErr error) {
		if err := unionfs.MountAll(view); err != nil {
			return fmt.Errorf("image: exporting: %w", err)
		}
		defer func() {
			for i := len(view) - 1; i >= 0; i-- {
				if err := unix.Unmount(view[i].Target, unix.MNT_DETACH); err != nil && retErr == nil {
					retErr = fmt.Errorf("image: exporting: unmounting %s: %w", view[i].Target, err)
				}
			}
		}()
		// A bind remount changes the flags of this mount alone: the
		// view cannot write, whatever it is a view of.
		for _, m := range view {
			if err := unix.Mount("", m.Target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("image: exporting: mount -o remount,bind,ro %s: %w", m.Target, err)
			}
		}
		return ExportDir(w, target)
	})
}

// inPrivateMountNS runs fn on an OS thread that has a mount namespace of
// its own. The thread stays locked and is never unlocked, so when fn is
// done the Go runtime ends it rather than handing it, in the wrong
// namespace, to other goroutines; the namespace, and any mount fn left in
// it, goes with it. Go creates new threads from a clean template thread,
// so none inherits the namespace either.
func inPrivateMountNS(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread cannot end (Go would park it for good, in
			// the namespace, and /proc/self would show that namespace).
			// While this goroutine holds it, another one runs elsewhere.
			defer runtime.UnlockOSThread()
			errc <- inPrivateMountNS(fn)
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				err = fmt.Errorf("%w (run as root)", err)
			}
			errc <- fmt.Errorf("image: exporting: unshare(CLONE_NEWNS): %w", err)
			return
		}
		// systemd makes / shared: without this, the view's mounts would
		// propagate back to the host's namespace.
		if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
			errc <- fmt.Errorf("image: exporting: mount --make-rprivate /: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
