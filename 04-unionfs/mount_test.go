package unionfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOverlayMountsListTheTopLayerFirst(t *testing.T) {
	m, err := Overlay().Mounts([]string{"/l/base", "/l/mid", "/l/top"}, "/c/1", "/c/1/rootfs")
	require.NoError(t, err)
	require.Len(t, m, 1)
	assert.Equal(t, Mount{Type: "overlay", Source: "overlay", Target: "/c/1/rootfs", Options: []string{
		"lowerdir=/l/top:/l/mid:/l/base", "upperdir=/c/1/upper", "workdir=/c/1/work",
	}}, m[0])
	assert.Equal(t, "mount -t overlay overlay -o lowerdir=/l/top:/l/mid:/l/base,upperdir=/c/1/upper,workdir=/c/1/work /c/1/rootfs", m[0].String())

	_, err = Overlay().Mounts(nil, "/c", "/r")
	assert.ErrorIs(t, err, ErrNoLayers)
	_, err = Overlay().Mounts([]string{"/l/a:b"}, "/c", "/r")
	assert.ErrorContains(t, err, "cannot carry")
}

func TestVolatileMarksOnlyOverlays(t *testing.T) {
	over, err := Overlay().Mounts([]string{"/l/base"}, "/c/1", "/c/1/rootfs")
	require.NoError(t, err)
	bind, err := Copy().Mounts([]string{"/l/base"}, "/c/2", "/c/2/rootfs")
	require.NoError(t, err)
	in := append(over, bind...)
	out := Volatile(in)
	require.Len(t, out, 2)
	assert.Equal(t, []string{"lowerdir=/l/base", "upperdir=/c/1/upper", "workdir=/c/1/work", "volatile"}, out[0].Options)
	assert.Equal(t, bind[0], out[1], "a bind mount has no volatile option")
	assert.Len(t, in[0].Options, 3, "the mounts given are left as they were")
	assert.Equal(t, "/c/1/work/work/incompat/volatile", VolatileMarker("/c/1"))
}

func TestCopyMountsBindTheContainersCopy(t *testing.T) {
	m, err := Copy().Mounts([]string{"/l/base", "/l/top"}, "/c/1", "/c/1/rootfs")
	require.NoError(t, err)
	assert.Equal(t, []Mount{{Type: "bind", Source: "/c/1/fs", Target: "/c/1/rootfs"}}, m)
	assert.Equal(t, "mount --bind /c/1/fs /c/1/rootfs", m[0].String())
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"etc/passwd", "etc/passwd", ""},
		{"./etc/", "etc", ""},
		{"/etc/passwd", "etc/passwd", ""}, // contained, as Docker does
		{"a//b/./c", "a/b/c", ""},
		{".", ".", ""},
		{"../escape", "", "climbs out"},
		{"a/../../escape", "", "climbs out"},
		{"a/..", "", "climbs out"},
		{"bad\x00name", "", "NUL"},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
