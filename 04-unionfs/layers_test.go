package unionfs_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// entry is one tar entry to put in a test layer.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
	xattrs           map[string]string
}

func file(name, body string, mode int64) entry {
	return entry{name: name, body: body, typ: tar.TypeReg, mode: mode}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) entry {
	return entry{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, to string) entry { return entry{name: name, link: to, typ: tar.TypeLink} }
func whiteout(name string) entry     { return file(name, "", 0o644) }

var epoch = time.Unix(1700000000, 0)

// layer builds a tarball from entries.
func layer(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, Linkname: e.link,
			Size: int64(len(e.body)), ModTime: epoch, Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// view describes a directory tree the way a user of the container sees it:
// path -> type, mode, owner, contents or link target, extended attributes.
func view(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		desc := fmt.Sprintf("%o %d:%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
			if first, ok := inodes[st.Ino]; ok {
				desc += " linked-to " + first
			} else if st.Nlink > 1 {
				inodes[st.Ino] = rel
			}
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		}
		if v := xattr(p, "user.comment"); v != "" {
			desc += " user.comment=" + v
		}
		out[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

func xattr(path, name string) string {
	b := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, b)
	if err != nil {
		return ""
	}
	return string(b[:n])
}

// tarEntries reads a tarball into name -> description, for comparing
// layers by content.
func tarEntries(t testing.TB, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	links := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		var xs []string
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				xs = append(xs, k+"="+v)
			}
		}
		sort.Strings(xs)
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if h.Typeflag == tar.TypeLink {
			links[name] = h.Linkname
			continue
		}
		out[name] = fmt.Sprintf("%c %o %d:%d %q %x %v %d", h.Typeflag, h.Mode&0o7777, h.Uid, h.Gid, h.Linkname, sha256.Sum256(b), xs, h.ModTime.Unix())
	}
	// Which name of a hard-linked file comes first is the writer's choice:
	// describe both names as the file, hard-linked.
	for name, target := range links {
		out[target] += " hard-linked"
		out[name] = out[target]
	}
	return out
}

func sha256New(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
