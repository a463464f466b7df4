//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type cpOptions struct {
	archive    bool // -a: keep owners
	followLink bool // -L: copy a source link's target
	quiet      bool
}

func newCpCommand(b *berthCLI) *cobra.Command {
	var o cpOptions
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
		Short: "Copy files/folders between a container and the local filesystem",
		Long: `cp copies a file or a directory out of a container or into it, running or
stopped, as a tar stream: - reads one from stdin or writes one to stdout.
Container paths are taken from the container's /, and resolved as in the
container: a symbolic link in it, however absolute or full of "..", leads
somewhere in the container, never on the host.

  SRC a directory: DEST is created with its contents, or SRC goes into DEST
  if DEST is a directory; SRC/. copies only its contents.
  SRC a file: DEST is created or overwritten, or the file goes into DEST if
  DEST is a directory; DEST/ must be an existing directory.

Files copied in belong to the container's root, out to you, unless -a keeps
their owners. A link in SRC is copied as a link unless -L.

  berth cp web:/etc/hosts .
  berth cp ./site/. web:/www
  tar -c conf | berth cp - web:/etc`,
		Args:                  exactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := splitCpArg(args[0]), splitCpArg(args[1])
			switch {
			case src.path == "" && src.container == "":
				return failure(1, errors.New("the source cannot be empty"))
			case dst.path == "" && dst.container == "":
				return failure(1, errors.New("the destination cannot be empty"))
			case src.container != "" && dst.container != "":
				return failure(1, errors.New("copying between containers is not supported: copy out to the host, then in"))
			case src.container == "" && dst.container == "":
				return failure(1, errors.New("one of source and destination must be CONTAINER:PATH (a local path with a colon: write it ./a:b)"))
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			if src.container != "" {
				err = b.copyFromContainer(cmd.Context(), e, src, dst.path, o)
			} else {
				err = b.copyToContainer(cmd.Context(), e, src.path, dst, o)
			}
			if err != nil {
				return failure(1, err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	fs.BoolVarP(&o.followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return cmd
}

// cpArg is one of cp's arguments: a container's path, or a local one
// (container empty).
type cpArg struct{ container, path string }

// splitCpArg reads CONTAINER:PATH as docker does: an absolute path is
// local, and so is anything without a colon or starting with "." before
// it ("./a:b" is the local file a:b).
func splitCpArg(arg string) cpArg {
	if filepath.IsAbs(arg) {
		return cpArg{path: arg}
	}
	c, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(c, ".") {
		return cpArg{path: arg}
	}
	return cpArg{container: c, path: p}
}

// hostPath makes a local path absolute, keeping what a trailing "/" or
// "/." says: a directory, its contents.
func hostPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		return strings.TrimSuffix(abs, "/") + "/.", nil
	case strings.HasSuffix(p, "/") && abs != "/":
		return abs + "/", nil
	}
	return abs, nil
}

// destination describes a copy's destination: a link is followed (a copy
// writes through it, as cp(1) does), and what is there must be a
// directory or a regular file, or nothing yet.
func destination(p string, stat func(string) (engine.PathStat, error), notFound error) (engine.CopyEnd, error) {
	st, err := stat(p)
	if err == nil && st.Mode&os.ModeSymlink != 0 {
		p = st.LinkTarget
		st, err = stat(p)
	}
	if errors.Is(err, notFound) {
		return engine.CopyEnd{Path: p}, nil // its parent must exist: the copy says so if not
	}
	if err != nil {
		return engine.CopyEnd{}, err
	}
	if !st.Mode.IsDir() && !st.Mode.IsRegular() {
		return engine.CopyEnd{}, fmt.Errorf("the destination %s must be a directory or a regular file", p)
	}
	return engine.CopyEnd{Path: p, Exists: true, IsDir: st.Mode.IsDir()}, nil
}

// renamed is the archive r with its top entry renamed from to to, if they
// differ.
func renamed(r io.Reader, from, to string) io.ReadCloser {
	if from == to {
		return io.NopCloser(r)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(engine.RenameArchive(pw, r, from, to)) }()
	return pr
}

// counter counts what passes, for the closing "Successfully copied".
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (b *berthCLI) copied(o cpOptions, n int64, to string) {
	if _, tty := terminalFd(b.err); tty && !o.quiet {
		fmt.Fprintf(b.err, "Successfully copied %s to %s\n", humanSize(float64(n)), to)
	}
}

// copyFromContainer is `cp CONTAINER:SRC DEST`: the engine sends SRC as a
// tar stream, and this side unpacks it where docker cp's rules say.
func (b *berthCLI) copyFromContainer(ctx context.Context, e *engine.Engine, src cpArg, dst string, o cpOptions) error {
	srcPath := src.path
	name := engine.ArchiveName(srcPath) // what the copy is called
	if o.followLink {
		if st, err := e.ContainerStatPath(ctx, src.container, srcPath); err == nil && st.Mode&os.ModeSymlink != 0 {
			srcPath = st.LinkTarget // resolved in the container: absolute, links followed
		}
	}
	rc, st, err := e.CopyFromContainer(ctx, src.container, srcPath)
	if err != nil {
		return err
	}
	defer rc.Close()
	content := &counter{r: rc}
	if dst == "-" {
		_, err := io.Copy(b.out, content)
		return err
	}
	host, err := engine.HostRoot()
	if err != nil {
		return err
	}
	defer host.Close()
	abs, err := hostPath(dst)
	if err != nil {
		return err
	}
	to, err := destination(abs, host.Stat, os.ErrNotExist)
	if err != nil {
		return err
	}
	plan, err := engine.PlanCopy(engine.CopyEnd{Path: srcPath, Exists: true, IsDir: st.Mode.IsDir(), Name: name}, to)
	if err != nil {
		return err
	}
	top := name
	if plan.Rename != "" {
		top = plan.Rename
	}
	archive := renamed(content, engine.ArchiveName(srcPath), top)
	defer archive.Close()
	// Unpacked as if the destination directory were "/": what comes out
	// of a container cannot lead out of where it is put.
	into, err := host.Sub(plan.Dir)
	if err != nil {
		return fmt.Errorf("copying to %s: %w", dst, err)
	}
	defer into.Close()
	opts := engine.ExtractOptions{KeepOwners: o.archive}
	if err := into.Extract("/", archive, opts); err != nil {
		return fmt.Errorf("copying to %s: %w", dst, err)
	}
	b.copied(o, content.n, dst)
	return nil
}

// copyToContainer is `cp SRC CONTAINER:DEST`: this side packs SRC as a
// tar stream named as docker cp's rules say, and the engine unpacks it in
// the container's directory the rules choose.
func (b *berthCLI) copyToContainer(ctx context.Context, e *engine.Engine, src string, dst cpArg, o cpOptions) error {
	stat := func(p string) (engine.PathStat, error) { return e.ContainerStatPath(ctx, dst.container, p) }
	if _, err := e.Inspect(ctx, dst.container); err != nil {
		return err // no such container: say so, not that its path is missing
	}
	to, err := destination(dst.path, stat, engine.ErrNotFound)
	if err != nil {
		return err
	}
	opts := engine.CopyToContainerOptions{CopyUIDGID: o.archive}
	if src == "-" {
		if !to.IsDir {
			return fmt.Errorf("the destination %s:%s must be an existing directory to unpack a tar stream in", dst.container, dst.path)
		}
		in := &counter{r: b.in}
		if err := e.CopyToContainer(ctx, dst.container, to.Path, in, opts); err != nil {
			return err
		}
		b.copied(o, in.n, dst.container+":"+dst.path)
		return nil
	}
	host, err := engine.HostRoot()
	if err != nil {
		return err
	}
	defer host.Close()
	srcPath, err := hostPath(src)
	if err != nil {
		return err
	}
	name := engine.ArchiveName(srcPath)
	if o.followLink {
		if st, err := host.Stat(srcPath); err == nil && st.Mode&os.ModeSymlink != 0 {
			srcPath = st.LinkTarget
		}
	}
	rc, st, err := host.Archive(srcPath)
	if err != nil {
		return err
	}
	defer rc.Close()
	plan, err := engine.PlanCopy(engine.CopyEnd{Path: srcPath, Exists: true, IsDir: st.Mode.IsDir(), Name: name}, to)
	if err != nil {
		return err
	}
	top := name
	if plan.Rename != "" {
		top = plan.Rename
	}
	archive := renamed(rc, engine.ArchiveName(srcPath), top)
	defer archive.Close()
	content := &counter{r: archive}
	if err := e.CopyToContainer(ctx, dst.container, plan.Dir, content, opts); err != nil {
		return err
	}
	b.copied(o, content.n, dst.container+":"+dst.path)
	return nil
}
