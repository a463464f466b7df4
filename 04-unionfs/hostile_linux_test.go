package unionfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	unionfs "berth/04-unionfs"
	"berth/04-unionfs/hostile"
)

func TestHostileArchives(t *testing.T) {
	// BERTH_HOSTILE_DIR=dir keeps a copy of every archive there, to be
	// read with tar -tvf (see testdata/README.md).
	if dir := os.Getenv("BERTH_HOSTILE_DIR"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, c := range hostile.Cases() {
			name := strings.ReplaceAll(c.Name, " ", "-") + ".tar"
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), c.Archive, 0o644))
		}
	}
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		for _, c := range hostile.Cases() {
			t.Run(c.Name, func(t *testing.T) {
				parent := t.TempDir()
				victim := filepath.Join(parent, "victim")
				require.NoError(t, os.WriteFile(victim, []byte("the host's file"), 0o600))
				before := view(t, parent)
				target := filepath.Join(parent, "target")

				err := s.Unpack(bytes.NewReader(c.Archive), target, nil)
				if c.Refuse {
					require.Error(t, err)
					if c.Entry != "truncated" && c.Entry != "corrupt" {
						assert.ErrorContains(t, err, c.Entry, "the error names the entry")
					} else {
						assert.ErrorContains(t, err, "truncated or corrupt archive")
					}
					assert.NoDirExists(t, target, "nothing half-applied is left to be mistaken for a layer")
				} else {
					require.NoError(t, err)
				}
				after := view(t, parent)
				for name, desc := range before {
					assert.Equal(t, desc, after[name], "%s outside the target must not change", name)
				}
				for name := range after {
					rel, _ := filepath.Rel(parent, filepath.Join(parent, name))
					if _, existed := before[name]; !existed && !isUnder(rel, "target") {
						t.Errorf("the archive created %s outside the target", name)
					}
				}
				entries, _ := os.ReadDir(parent)
				for _, e := range entries {
					assert.Contains(t, []string{"victim", "target"}, e.Name(), "no temporary directory left behind")
				}
			})
		}
	})
}

func isUnder(rel, dir string) bool {
	return rel == dir || len(rel) > len(dir) && rel[:len(dir)+1] == dir+"/"
}
