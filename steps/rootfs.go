package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth/steps/testkit"
)

func newRootfsCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "rootfs [-o FILE]",
		Short: "Write the course's busybox root filesystem as a tarball, for berth import",
		Long: `rootfs writes the root filesystem every chapter uses (the host's static
busybox, a link per applet, /etc/passwd and /etc/group, empty /proc, /sys,
/dev and /tmp) as a tar, to stdout or to -o FILE. It makes the course's
busybox image without a registry:

  go run ./steps rootfs | sudo bin/berth import -c 'CMD ["sh"]' - busybox

Every entry belongs to root and is dated 2000-01-01, in name order, so the
same busybox always gives the same tarball: the same layer, byte for byte.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := testkit.RootfsTemplate()
			if err != nil {
				return fmt.Errorf("rootfs: %w", err)
			}
			if output != "" {
				return writeFileAtomic(output, func(w io.Writer) error { return writeRootfsTar(w, dir) })
			}
			out := cmd.OutOrStdout()
			if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				return errors.New("rootfs: refusing to write a tarball to a terminal: pipe it (| sudo bin/berth import ...) or use -o FILE")
			}
			return writeRootfsTar(out, dir)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// rootfsTime dates every entry: the tarball depends on busybox alone.
var rootfsTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// writeRootfsTar writes the tree under dir as a tar whose entries are
// owned by root (whoever built the tree: a student's go run is not root)
// and dated rootfsTime, in name order.
func writeRootfsTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("rootfs: %s: %w", rel, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = rootfsTime, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rootfs: writing the tarball of %s: %w", dir, err)
	}
	return tw.Close()
}

// writeFileAtomic writes path through a temporary file renamed over it
// when write succeeded: an interrupted run leaves no half tarball.
func writeFileAtomic(path string, write func(io.Writer) error) (retErr error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return nil
}
