// Package demo is chapter 04's narrated demo: `go run ./steps demo 4`.
// It turns the course's busybox root filesystem into a layer tarball,
// stacks an application layer on it, runs two containers on the same two
// read-only layers, shows copy-up, a whiteout and an opaque directory in
// their upper directories, counts the disk each uses, and reads one
// container's changes back as a layer: what `docker commit` stores.
package demo

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	unionfs "berth/04-unionfs"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// Title is the chapter's title as the course runner lists it.
const Title = "The union filesystem: layers, copy-on-write, whiteouts"

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(4, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 4 mounts overlays and unpacks files owned by root: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 4)")
	}
	tmpl, err := testkit.RootfsTemplate()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "berth-demo04-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	at := func(p ...string) string { return filepath.Join(append([]string{work}, p...)...) }
	ov := unionfs.Overlay()

	if err := n.Beat(ctx, "An image layer is a tarball",
		"The course's busybox root filesystem, written as one tar archive: the base layer.",
		"A second, small layer adds the application. Each is unpacked once, into its own",
		"directory, and never written again."); err != nil {
		return err
	}
	var base bytes.Buffer
	if err := unionfs.Tar(&base, tmpl); err != nil {
		return err
	}
	app := appLayer()
	n.Evidence("host", "tar -tvf app.tar", listTar(app))
	layers := []string{at("layers", "1-base"), at("layers", "2-app")}
	for i, tb := range [][]byte{base.Bytes(), app} {
		n.Syscall(fmt.Sprintf("unpack %d-byte tarball into %s", len(tb), layers[i]))
		if err := ov.Unpack(bytes.NewReader(tb), layers[i], layers[:i]); err != nil {
			return err
		}
	}

	if err := n.Beat(ctx, "Two containers on the same layers",
		"Each container gets only two empty directories of its own: upper takes its writes,",
		"work is overlayfs's scratch space. lowerdir lists the image's layers, top first."); err != nil {
		return err
	}
	names := []string{"A", "B"}
	cdirs := map[string]string{}
	roots := map[string]string{}
	for _, c := range names {
		cdirs[c], roots[c] = at("containers", c), at("containers", c, "merged")
		if err := ov.Prepare(layers, cdirs[c]); err != nil {
			return err
		}
		if err := os.Mkdir(roots[c], 0o755); err != nil {
			return err
		}
		mounts, err := ov.Mounts(layers, cdirs[c], roots[c])
		if err != nil {
			return err
		}
		for _, m := range mounts {
			n.Syscall(m.String())
		}
		if err := unionfs.MountAll(mounts); err != nil {
			return err
		}
		root := roots[c]
		n.Defer("unmount "+root, func() error { return unionfs.Unmount(root) })
	}
	mounts, err := overlaysUnder(work)
	if err != nil {
		return err
	}
	n.Evidence("host", "mount -t overlay", mounts)

	run := func(c, command string) error {
		var out bytes.Buffer
		err := namespaces.Run(ctx, namespaces.Spec{Rootfs: roots[c], Args: []string{"/bin/sh", "-c", command},
			Hostname: strings.ToLower(c), Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS}},
			nil, &out, &out)
		var ee *namespaces.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		n.Evidence("container "+c, command, out.String())
		return nil
	}

	if err := n.Beat(ctx, "Copy-up: container A changes a file of the image",
		"/etc/motd lives in the app layer. The first write copies it whole into A's upper",
		"directory and changes the copy; the layer below and container B see nothing."); err != nil {
		return err
	}
	if err := run("A", "echo 'A was here' >> /etc/motd; cat /etc/motd; mount | grep ' / '"); err != nil {
		return err
	}
	if err := run("B", "cat /etc/motd"); err != nil {
		return err
	}
	for _, p := range []string{filepath.Join(layers[1], "etc/motd"), filepath.Join(unionfs.Upper(cdirs["A"]), "etc/motd")} {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n.Evidence("host", "cat "+p, string(b))
	}

	if err := n.Beat(ctx, "Deleting what a lower layer holds: whiteouts",
		"B cannot delete from a read-only layer. Removing /etc/os-release leaves a whiteout",
		"in B's upper directory, a character device 0/0 that hides the name; removing /app",
		"and making it again leaves an opaque directory, marked by an extended attribute."); err != nil {
		return err
	}
	if err := run("B", "rm /etc/os-release; rm -r /app; mkdir /app; echo rebuilt > /app/greeting; ls /etc /app"); err != nil {
		return err
	}
	for _, c := range names {
		listing, err := describeTree(unionfs.Upper(cdirs[c]))
		if err != nil {
			return err
		}
		n.Evidence("host", "ls -lR "+unionfs.Upper(cdirs[c]), listing)
	}
	for _, p := range []string{filepath.Join(layers[0], "etc/os-release"), filepath.Join(layers[1], "app/greeting")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("an image layer lost a file it must keep: %w", err)
		}
	}
	n.Say("the base layer still holds etc/os-release, the app layer app/greeting: nothing below upper was touched")

	if err := n.Beat(ctx, "Disk: the layers are stored once",
		"Each container sees a whole root filesystem, but stores only what it changed."); err != nil {
		return err
	}
	var rows []string
	seen := map[[2]uint64]bool{}
	for _, c := range names {
		sees, err := diskUsage(roots[c], map[[2]uint64]bool{})
		if err != nil {
			return err
		}
		rows = append(rows, fmt.Sprintf("container %s sees             %9s", c, human(sees)))
	}
	for _, d := range append(append([]string{}, layers...), unionfs.Upper(cdirs["A"]), unionfs.Upper(cdirs["B"])) {
		u, err := diskUsage(d, seen)
		if err != nil {
			return err
		}
		rows = append(rows, fmt.Sprintf("stored in %-18s %9s", strings.TrimPrefix(d, work+"/"), human(u)))
	}
	n.Evidence("host", "du (blocks allocated, each inode counted once)", strings.Join(rows, "\n"))

	copies, err := copyCost(ctx, at("copy"), base.Bytes(), app)
	if err != nil {
		return err
	}
	n.Say("the copy snapshotter, for filesystems where overlay cannot mount, stores the same")
	n.Say("two layers and two containers in %s: every layer and container is a full copy", human(copies))

	if err := n.Beat(ctx, "A container's changes, read back as a layer",
		"Diff walks B's upper directory and turns overlay's whiteouts back into the OCI",
		"form, .wh.NAME and .wh..wh..opq. This tarball is what `docker commit` would add",
		"on top of the image."); err != nil {
		return err
	}
	var diff bytes.Buffer
	if err := ov.Diff(&diff, layers, cdirs["B"]); err != nil {
		return err
	}
	n.Evidence("host", "tar -tvf diff-of-B.tar", listTar(diff.Bytes()))
	return nil
}

// appLayer is the image's second layer: a greeting and a message of the day.
func appLayer() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []struct{ name, body string }{
		{"app/", ""}, {"app/greeting", "hello from the app layer\n"}, {"etc/", ""}, {"etc/motd", "welcome to berth\n"},
	} {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), ModTime: mtime, Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		tw.WriteHeader(h) // writing to memory cannot fail
		io.WriteString(tw, e.body)
	}
	tw.Close()
	return buf.Bytes()
}

// listTar renders a tarball as tar -tv would, without times.
func listTar(b []byte) string {
	var lines []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			if err != io.EOF {
				lines = append(lines, "error: "+err.Error())
			}
			break
		}
		note := ""
		switch base := filepath.Base(h.Name); {
		case base == unionfs.OpaqueMarker:
			note = "   <- opaque: hide what the layers below hold here"
		case strings.HasPrefix(base, unionfs.WhiteoutPrefix):
			note = "   <- whiteout: delete " + strings.TrimPrefix(base, unionfs.WhiteoutPrefix)
		}
		lines = append(lines, fmt.Sprintf("%s %d/%d %6d %s%s", h.FileInfo().Mode(), h.Uid, h.Gid, h.Size, h.Name, note))
	}
	return strings.Join(lines, "\n")
}

// describeTree lists dir recursively, marking overlay's whiteouts and
// opaque directories.
func describeTree(dir string) (string, error) {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %8d %s", fi.Mode(), fi.Size(), rel)
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFCHR:
			// Go marks a character device "Dc"; ls shows "c".
			line = fmt.Sprintf("%s %3d, %3d %s", strings.TrimPrefix(fi.Mode().String(), "D"), unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), rel)
			if st.Rdev == 0 {
				line += "   <- whiteout"
			}
		case d.IsDir():
			v := make([]byte, 8)
			if n, err := unix.Lgetxattr(p, unionfs.OpaqueXattr, v); err == nil {
				line += fmt.Sprintf("   <- %s=%s", unionfs.OpaqueXattr, v[:n])
			}
		}
		lines = append(lines, line)
		return nil
	})
	return strings.Join(lines, "\n"), err
}

// diskUsage adds up the blocks allocated under dir, counting each inode
// once across calls that share seen, as du does.
func diskUsage(dir string, seen map[[2]uint64]bool) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		key := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
		if !seen[key] {
			seen[key] = true
			total += st.Blocks * 512
		}
		return nil
	})
	return total, err
}

// copyCost builds the same two layers and two containers with the copy
// snapshotter and says how much disk they take.
func copyCost(ctx context.Context, dir string, tarballs ...[]byte) (int64, error) {
	cp := unionfs.Copy()
	var layers []string
	for i, tb := range tarballs {
		l := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		if err := cp.Unpack(bytes.NewReader(tb), l, layers); err != nil {
			return 0, err
		}
		layers = append(layers, l)
	}
	for _, c := range []string{"A", "B"} {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := cp.Prepare(layers, filepath.Join(dir, c)); err != nil {
			return 0, err
		}
	}
	return diskUsage(dir, map[[2]uint64]bool{})
}

// overlaysUnder renders the overlay mounts below dir as mount(8) lists
// them.
func overlaysUnder(dir string) (string, error) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[2] == "overlay" && strings.HasPrefix(f[1], dir+"/") {
			lines = append(lines, fmt.Sprintf("%s on %s type %s (%s)", f[0], f[1], f[2], f[3]))
		}
	}
	return strings.Join(lines, "\n"), nil
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
