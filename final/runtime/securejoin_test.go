package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileRoot lays out a rootfs whose links all try to lead out of it.
func hostileRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"usr/lib", "data", "real"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	links := map[string]string{
		"etc":          "/",                // /etc is the root itself
		"lib":          "usr/lib",          // an ordinary relative link
		"up":           "../../../..",      // climbs far above the root
		"abs-host":     "/tmp/../../../..", // absolute, then climbs
		"data/ln":      "../real",
		"loop1":        "loop2",
		"loop2":        "loop1",
		"dangling":     "/nowhere/file",
		"usr/lib/self": ".",
	}
	for l, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(root, l)))
	}
	return root
}

func TestSecureJoin(t *testing.T) {
	root := hostileRoot(t)
	tests := []struct{ in, want string }{
		{"/", ""},
		{"", ""},
		{"/usr/lib", "/usr/lib"},
		{"/etc/hosts", "/hosts"},         // /etc -> / stays inside
		{"/etc/etc/etc/x", "/x"},         // and again
		{"/../../etc/passwd", "/passwd"}, // .. above the root is the root
		{"/lib/x.so", "/usr/lib/x.so"},
		{"/up/etc/shadow", "/shadow"},
		{"/abs-host/etc/shadow", "/shadow"},
		{"/data/ln/file", "/real/file"},
		{"/dangling", "/nowhere/file"}, // a dangling link is created inside
		{"/new/dir/../file", "/new/file"},
		{"/new/../../../x", "/x"},
		{"/usr/lib/self/self/y", "/usr/lib/y"},
		{"usr//lib/./", "/usr/lib"},
	}
	for _, tt := range tests {
		got, err := secureJoin(root, tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, filepath.Join(root, tt.want), got, tt.in)
		assert.True(t, got == root || strings.HasPrefix(got, root+"/"), "%s left the root: %s", tt.in, got)
	}
	_, err := secureJoin(root, "/loop1/x")
	assert.ErrorContains(t, err, "too many levels of symbolic links")
}

func TestOpenInRoot(t *testing.T) {
	root := hostileRoot(t)
	require.NoError(t, os.WriteFile(filepath.Join(root, "hosts"), []byte("inside"), 0o644))
	f, err := openInRoot(root, "/etc/hosts")
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 16)
	n, _ := f.Read(b)
	assert.Equal(t, "inside", string(b[:n]), "/etc/hosts is the rootfs's /hosts, never the host's /etc/hosts")
	_, err = openInRoot(root, "/etc/missing")
	assert.ErrorIs(t, err, os.ErrNotExist)
}
