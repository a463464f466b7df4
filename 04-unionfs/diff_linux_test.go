package unionfs_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	unionfs "berth/04-unionfs"
)

// A container committed while it runs (docker commit --pause=false) or
// exported while it runs goes on changing its files under the walk: a file
// listed with its directory can be renamed or removed before it is read.
// Such a file is no longer part of the layer; the walk leaves it out and
// goes on, and the tarball stays whole. Here a goroutine does what the
// container of TestFSCommitRunningContainer does, as fast as it can.
func TestDiffAndTarSkipFilesThatVanish(t *testing.T) {
	cdir := t.TempDir()
	upper := unionfs.Upper(cdir)
	require.NoError(t, os.MkdirAll(filepath.Join(upper, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(upper, "stable"), []byte("here\n"), 0o644))

	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tmp := filepath.Join(upper, fmt.Sprintf("counter%d.new", i%16))
			os.WriteFile(tmp, []byte(fmt.Sprintln(i)), 0o644)
			os.Rename(tmp, filepath.Join(upper, "counter"))
			sub := filepath.Join(upper, "d", fmt.Sprintf("gone%d", i%16))
			os.Mkdir(sub, 0o755)
			os.Remove(sub)
		}
	}()
	t.Cleanup(func() { close(stop); <-done })

	walks := map[string]func(io.Writer) error{
		"diff": func(w io.Writer) error { return unionfs.Overlay().Diff(w, nil, cdir) },
		"tar":  func(w io.Writer) error { return unionfs.Tar(w, upper) },
	}
	for name, walk := range walks {
		for range 300 {
			var buf bytes.Buffer
			require.NoError(t, walk(&buf), name)
			names := map[string]bool{}
			tr := tar.NewReader(&buf)
			for {
				hdr, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "%s: the tarball is whole", name)
				_, err = io.Copy(io.Discard, tr)
				require.NoError(t, err, "%s: %s has the size its header says", name, hdr.Name)
				names[hdr.Name] = true
			}
			assert.True(t, names["stable"], "%s: the files that stay are all there", name)
		}
	}
}

// The walk's own root is not a file that vanished: a diff of a container
// whose upper directory is gone is an error, not an empty layer.
func TestDiffOfAMissingUpperFails(t *testing.T) {
	var buf bytes.Buffer
	err := unionfs.Overlay().Diff(&buf, nil, t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "upper")
	require.ErrorIs(t, unionfs.Tar(&buf, filepath.Join(t.TempDir(), "nothing")), os.ErrNotExist)
}
