//go:build linux

package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitCpArgReadsContainerPathsAsDocker(t *testing.T) {
	tests := []struct {
		in   string
		want cpArg
	}{
		{"web:/etc/hosts", cpArg{container: "web", path: "/etc/hosts"}},
		{"web:etc", cpArg{container: "web", path: "etc"}},
		{"web:", cpArg{container: "web", path: ""}},
		{"/abs/with:colon", cpArg{path: "/abs/with:colon"}},
		{"./local:name", cpArg{path: "./local:name"}},
		{"../up:name", cpArg{path: "../up:name"}},
		{"plain", cpArg{path: "plain"}},
		{"-", cpArg{path: "-"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitCpArg(tt.in), tt.in)
	}
}

func TestHostPathKeepsTrailingMeaning(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	for in, want := range map[string]string{
		"a":       filepath.Join(wd, "a"),
		"a/":      filepath.Join(wd, "a") + "/",
		"a/.":     filepath.Join(wd, "a") + "/.",
		".":       wd + "/.",
		"/":       "/",
		"/x/../y": "/y",
	} {
		got, err := hostPath(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
}

func TestCpRefusesTwoLocalOrTwoContainerPaths(t *testing.T) {
	for _, args := range [][]string{{"cp", "a", "b"}, {"cp", "c1:/a", "c2:/b"}, {"cp", "", "c:/x"}} {
		_, stderr, code := berthNoEngine(t, args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.NotEmpty(t, stderr)
	}
}
