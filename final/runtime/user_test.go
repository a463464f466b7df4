package runtime_test

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/runtime"
)

const passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment, and a malformed line
broken
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
alice:x:1000:1000:Alice:/home/alice:/bin/sh
1234:x:2000:2000:numeric name:/home/n:/bin/sh
`

const group = `root:x:0:
wheel:x:10:root,alice
www-data:x:33:
staff:x:50:alice, bob
nogroup:x:65534:
alice:x:1000:
`

// fakeRootfs writes an image's /etc/passwd and /etc/group under a temporary
// directory.
func fakeRootfs(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	if passwd != "" {
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644))
	}
	if group != "" {
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644))
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := fakeRootfs(t, passwd, group)
	tests := []struct {
		user string
		want specs.User
		home string
		err  string
	}{
		{"", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}, "/root", ""},
		{"root", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}, "/root", ""},
		{"0", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}, "/root", ""},
		{"alice", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}, "/home/alice", ""},
		{"1000", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}, "/home/alice", ""},
		{"nobody", specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{65534}}, "/nonexistent", ""},
		{"www-data", specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33}}, "/var/www", ""},
		// A uid the image does not know: allowed, group 0, home /.
		{"4242", specs.User{UID: 4242, GID: 0, AdditionalGids: []uint32{0}}, "/", ""},
		// A numeric value is a uid, even when a user is named like it.
		{"1234", specs.User{UID: 1234, GID: 0, AdditionalGids: []uint32{0}}, "/", ""},
		{"alice:staff", specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{50}}, "/home/alice", ""},
		{"alice:0", specs.User{UID: 1000, GID: 0, AdditionalGids: []uint32{0}}, "/home/alice", ""},
		{"1000:1000", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000}}, "/home/alice", ""},
		{"4242:4343", specs.User{UID: 4242, GID: 4343, AdditionalGids: []uint32{4343}}, "/", ""},
		{"4242:wheel", specs.User{UID: 4242, GID: 10, AdditionalGids: []uint32{10}}, "/", ""},
		{"mallory", specs.User{}, "", "unable to find user mallory: no matching entries in passwd file"},
		{"alice:nogroupnamedthis", specs.User{}, "", "unable to find group nogroupnamedthis: no matching entries in group file"},
		{"alice:", specs.User{}, "", "empty group"},
		{":staff", specs.User{}, "", "empty user"},
		{"-1", specs.User{}, "", "unable to find user -1"},
		{"4294967295", specs.User{}, "", "unable to find user 4294967295"},
	}
	for _, tt := range tests {
		u, home, err := runtime.ResolveUser(root, tt.user)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%q", tt.user)
			continue
		}
		if assert.NoError(t, err, "%q", tt.user) {
			assert.Equal(t, tt.want, u, "%q", tt.user)
			assert.Equal(t, tt.home, home, "%q", tt.user)
		}
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	root := fakeRootfs(t, "", "")
	u, home, err := runtime.ResolveUser(root, "")
	require.NoError(t, err, "an image without /etc/passwd runs as root")
	assert.Equal(t, specs.User{AdditionalGids: []uint32{0}}, u)
	assert.Equal(t, "/", home)
	u, _, err = runtime.ResolveUser(root, "1000:1000")
	require.NoError(t, err)
	assert.Equal(t, specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000}}, u)
	_, _, err = runtime.ResolveUser(root, "alice")
	assert.ErrorContains(t, err, "unable to find user alice")
}

// TestResolveUserStaysInside gives the image an /etc/passwd that is a link
// to a file outside the rootfs: it must not be read.
func TestResolveUserStaysInside(t *testing.T) {
	outside := t.TempDir()
	evil := filepath.Join(outside, "shadow-outside")
	require.NoError(t, os.WriteFile(evil, []byte("evil:x:0:0:evil:/:/bin/sh\n"), 0o644))

	for name, target := range map[string]string{
		"absolute": evil,
		"relative": "../../../../../../../../.." + evil,
	} {
		t.Run(name, func(t *testing.T) {
			root := fakeRootfs(t, "", group)
			require.NoError(t, os.Symlink(target, filepath.Join(root, "etc/passwd")))
			_, _, err := runtime.ResolveUser(root, "evil")
			assert.ErrorContains(t, err, "unable to find user evil", "the host's file was read through the link")
		})
	}

	// The link resolved inside the rootfs finds the image's own file.
	root := fakeRootfs(t, "", group)
	require.NoError(t, os.MkdirAll(filepath.Join(root, evil[:len(evil)-len("/shadow-outside")]), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, evil), []byte("inside:x:7:7::/in:/bin/sh\n"), 0o644))
	require.NoError(t, os.Symlink(evil, filepath.Join(root, "etc/passwd")))
	u, home, err := runtime.ResolveUser(root, "inside")
	require.NoError(t, err)
	assert.Equal(t, uint32(7), u.UID)
	assert.Equal(t, "/in", home)

	// /etc itself a link to / : /etc/passwd is the rootfs's /passwd.
	root = t.TempDir()
	require.NoError(t, os.Symlink("/", filepath.Join(root, "etc")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "passwd"), []byte("top:x:9:9::/:/bin/sh\n"), 0o644))
	u, _, err = runtime.ResolveUser(root, "top")
	require.NoError(t, err)
	assert.Equal(t, uint32(9), u.UID)
}

func TestResolveUserRefusesSpecialFiles(t *testing.T) {
	root := fakeRootfs(t, "", "")
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(root, "etc/passwd")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dev"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, "dev/zero"), 0o755))
	_, _, err := runtime.ResolveUser(root, "root")
	assert.ErrorContains(t, err, "not a regular file")
}
