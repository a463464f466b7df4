package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	unionfs "berth/04-unionfs"
)

// ContainerStatPath describes a path in a container: HEAD
// /containers/{id}/archive, whose X-Docker-Container-Path-Stat header
// carries the answer. docker cp asks it first, to know what the other end
// of the copy is.
func (e *Engine) ContainerStatPath(ctx context.Context, ref, p string) (PathStat, error) {
	root, c, err := e.containerRoot(ref, false)
	if err != nil {
		return PathStat{}, err
	}
	defer root.Close()
	st, err := root.Stat(p)
	if err != nil {
		return st, cpError(c, p, err)
	}
	return st, nil
}

// CopyFromContainer returns a tar stream of a path in a container (GET
// /containers/{id}/archive): the entry itself, a link not followed, named
// by p's last element, or a directory's contents when p ends with "/.".
// The container stays locked (not started, stopped or removed) until the
// stream is closed, as docker holds it.
func (e *Engine) CopyFromContainer(ctx context.Context, ref, p string) (io.ReadCloser, PathStat, error) {
	root, c, err := e.containerRoot(ref, false)
	if err != nil {
		return nil, PathStat{}, err
	}
	rc, st, err := root.Archive(p)
	if err != nil {
		root.Close()
		return nil, st, cpError(c, p, err)
	}
	return &rootArchive{ReadCloser: rc, root: root}, st, nil
}

// rootArchive closes its root once the archive is closed.
type rootArchive struct {
	io.ReadCloser
	root *CopyRoot
}

func (a *rootArchive) Close() error {
	err := a.ReadCloser.Close()
	a.root.Close()
	return err
}

// CopyToContainer unpacks the tar stream content in dir, a directory of
// the container (PUT /containers/{id}/archive). Entries belong to the
// container's root user unless opts.CopyUIDGID keeps the archive's owners.
// On a stopped container the files land in its writable layer, and so
// are there when it starts.
func (e *Engine) CopyToContainer(ctx context.Context, ref, dir string, content io.Reader, opts CopyToContainerOptions) error {
	root, c, err := e.containerRoot(ref, true)
	if err != nil {
		return err
	}
	defer root.Close()
	// The extraction point must be there: an error that names it, rather
	// than one about the first entry.
	if _, err := root.Stat(strings.TrimSuffix(dir, "/") + "/"); err != nil {
		return cpError(c, dir, err)
	}
	xo := ExtractOptions{Owner: &Owner{UID: 0, GID: 0}, OverwriteDirWithFile: opts.AllowOverwriteDirWithFile}
	if opts.CopyUIDGID {
		xo.KeepOwners, xo.Owner = true, nil
	}
	if err := root.Extract(dir, content, xo); err != nil {
		return fmt.Errorf("engine: copying to %s:%s: %w", c.Name, dir, err)
	}
	return nil
}

// cpError says what went wrong with a path in a container in the terms
// of the API's errors: not found (404), not a directory (400).
func cpError(c *container, p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: could not find the file %s in container %s", ErrNotFound, p, c.Name)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%w: %s in container %s: a part of the path is not a directory", ErrInvalid, p, c.Name)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: %s in container %s: too many levels of symbolic links", ErrInvalid, p, c.Name)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict):
		return err // already said for a user
	}
	return fmt.Errorf("engine: %s:%s: %w", c.Name, p, err)
}

// containerRoot opens a container's root filesystem for a copy, and
// holds the container's lock until the root is closed: nothing starts,
// tears down or removes it meanwhile.
//
// A running container's root is its init's, /proc/PID/root: the
// filesystem as the container sees it, its volumes and bind mounts
// included, and its /proc and /sys too, which the root refuses to touch.
// A stopped container's is mounted for the copy (stoppedRoot).
func (e *Engine) containerRoot(ref string, writable bool) (_ *CopyRoot, _ *container, retErr error) {
	c, err := e.find(ref)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if retErr != nil {
			unlock()
		}
	}()
	st, err := e.statusLocked(c)
	if err != nil {
		return nil, nil, err
	}
	if st.Running {
		fd, err := initRoot(c, st)
		if err != nil {
			return nil, nil, err
		}
		return &CopyRoot{fd: fd, guard: true, release: unlock}, c, nil
	}
	fd, release, err := e.stoppedRoot(c, writable)
	if err != nil {
		return nil, nil, err
	}
	return &CopyRoot{fd: fd, release: func() { release(); unlock() }}, c, nil
}

// initRoot opens /proc/PID/root of the container's init: a descriptor of
// the root directory of its mount namespace, usable from ours.
func initRoot(c *container, st status) (int, error) {
	pid := st.Init.Pid
	// The pidfd names this process for good; the PID alone might be
	// reused by another process between the check and the open.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil || !st.Init.alive() {
		if err == nil {
			unix.Close(pidfd)
		}
		return -1, fmt.Errorf("%w: container %s is stopping: try again once it has stopped", ErrConflict, c.Name)
	}
	defer unix.Close(pidfd)
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("engine: opening the root of %s: %w", c.Name, err)
	}
	if unix.PidfdSendSignal(pidfd, 0, nil, 0) != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: container %s is stopping: try again once it has stopped", ErrConflict, c.Name)
	}
	return fd, nil
}

// stoppedRoot mounts a stopped container's root filesystem as a start
// would, its image's layers under its writable layer (chapter 04), with
// its volumes and bind mounts in place: but in a mount namespace of its
// own, made on a thread that ends once the mounts are made, so nobody
// else ever sees them. A descriptor of that namespace keeps it, and the
// mounts, alive; release closes it, and the kernel unmounts everything.
// Written through this view, a file lands in the upper directory, where
// the container finds it at its next start. Read-only unless writable
// (and always with --read-only): reading a container changes nothing.
func (e *Engine) stoppedRoot(c *container, writable bool) (int, func(), error) {
	layers := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		layers[i] = filepath.Join(e.images.Root(), "layers", l)
	}
	// The mount point is a directory of the host's, needed while the view
	// lives: removing it would unmount the view (since Linux 3.18 a
	// deleted mount point takes its mounts with it in every namespace).
	target := filepath.Join(e.dir(c.ID), "cp-view")
	if err := os.MkdirAll(target, 0o700); err != nil {
		return -1, nil, fmt.Errorf("engine: %w", err)
	}
	root := -1
	nsfd, err := privateMountNamespace(func() error {
		mounts, err := e.images.Snapshotter().Mounts(layers, e.layerCdir(c.ID), target)
		if err != nil {
			return err
		}
		if err := unionfs.MountAll(mounts); err != nil {
			return err
		}
		if !writable || c.HostConfig.ReadonlyRootfs {
			// A bind remount changes this mount's flags alone.
			if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("mount -o remount,bind,ro %s: %w", target, err)
			}
		}
		fd, err := unix.Open(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := bindMounts(fd, c.Mounts, writable); err != nil {
			unix.Close(fd)
			return err
		}
		root = fd
		return nil
	})
	if err != nil {
		if root >= 0 {
			unix.Close(root)
		}
		os.Remove(target) // never RemoveAll: a mount point
		return -1, nil, fmt.Errorf("engine: mounting the filesystem of %s: %w", c.Name, err)
	}
	return root, func() {
		unix.Close(nsfd)
		os.Remove(target)
	}, nil
}

// bindMounts puts the container's volumes and bind mounts on the view
// whose root is the descriptor root, each destination resolved inside the
// view, as the runtime puts them in the container (parents first). The new
// mount API attaches each on the very directory resolved: open_tree(2)
// copies the source's mount, mount_setattr(2) makes it read-only if need
// be, move_mount(2) puts it on the target's descriptor.
func bindMounts(root int, mounts []MountPoint, writable bool) error {
	sorted := append([]MountPoint{}, mounts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return strings.Count(path.Clean(sorted[i].Destination), "/") < strings.Count(path.Clean(sorted[j].Destination), "/")
	})
	view := &CopyRoot{fd: root}
	for _, m := range sorted {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("the source of %s: %w", m.Destination, err)
		}
		target, err := mountTarget(view, m.Destination, fi.IsDir(), writable)
		if errors.Is(err, fs.ErrNotExist) && !writable {
			continue // nothing to read there, and a read creates nothing
		}
		if err != nil {
			return fmt.Errorf("the mount point %s: %w", m.Destination, err)
		}
		err = moveBind(m.Source, target, !m.RW || !writable)
		unix.Close(target)
		if err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.Source, m.Destination, err)
		}
	}
	return nil
}

// mountTarget opens (and with create, makes) the mount point dst in view:
// a directory, or for a file's bind mount a file.
func mountTarget(view *CopyRoot, dst string, dir, create bool) (int, error) {
	if dir {
		return view.open(dst, create)
	}
	parent, err := view.open(path.Dir(path.Clean("/"+dst)), create)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	base := path.Base(dst)
	if create {
		fd, err := unix.Openat(parent, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		} else if err != unix.EEXIST {
			return -1, err
		}
	}
	fd, err := unix.Openat(parent, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: dst, Err: err}
	}
	return fd, nil
}

func moveBind(source string, target int, readonly bool) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	if readonly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// privateMountNamespace runs fn on an OS thread in a new mount namespace
// whose mounts propagate nowhere, and returns a descriptor of that
// namespace: it lives, with what fn mounted, until the descriptor is
// closed. The thread stays locked and is never unlocked, so the Go runtime
// ends it with its goroutine rather than hand it, in the wrong namespace,
// to other goroutines.
func privateMountNamespace(fn func() error) (int, error) {
	type result struct {
		ns  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread cannot end (Go would park it for good, and
			// /proc/self would show its namespace): try from another,
			// holding this one meanwhile.
			defer runtime.UnlockOSThread()
			ns, err := privateMountNamespace(fn)
			done <- result{ns, err}
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				err = fmt.Errorf("%w (run as root)", err)
			}
			done <- result{-1, fmt.Errorf("unshare(CLONE_NEWNS): %w", err)}
			return
		}
		// systemd makes / shared: without this, what fn mounts would
		// propagate back to the host's namespace.
		if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
			done <- result{-1, fmt.Errorf("mount --make-rprivate /: %w", err)}
			return
		}
		if err := fn(); err != nil {
			done <- result{-1, err} // the namespace ends with the thread
			return
		}
		ns, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{-1, fmt.Errorf("opening the mount namespace: %w", err)}
			return
		}
		done <- result{ns, nil}
	}()
	r := <-done
	return r.ns, r.err
}
