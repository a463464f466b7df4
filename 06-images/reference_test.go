package image

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReferenceNormalisesAsDocker(t *testing.T) {
	const dg = "sha256:ab2a1e3ca6b4f72e07d9ef8f5c8b2a8a6ef0b6f1c2f9d2c7a5d2e8f7a6b5c4d3"
	tests := []struct {
		in, full, familiar, apiHost string
		loopback                    bool
	}{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io", false},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "registry-1.docker.io", false},
		{"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io", false},
		{"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io", false},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io", false},
		{"user/app:v1.0", "docker.io/user/app:v1.0", "user/app:v1.0", "registry-1.docker.io", false},
		{"ghcr.io/org/team/app", "ghcr.io/org/team/app:latest", "ghcr.io/org/team/app:latest", "ghcr.io", false},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest", "localhost", true},
		{"localhost:5000/app:dev", "localhost:5000/app:dev", "localhost:5000/app:dev", "localhost:5000", true},
		{"127.0.0.1:39457/x/y:1", "127.0.0.1:39457/x/y:1", "127.0.0.1:39457/x/y:1", "127.0.0.1:39457", true},
		{"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest", "[::1]:5000", true},
		{"Registry.Example/app", "Registry.Example/app:latest", "Registry.Example/app:latest", "Registry.Example", false},
		{"busybox@" + dg, "docker.io/library/busybox@" + dg, "busybox@" + dg, "registry-1.docker.io", false},
		{"busybox:1@" + dg, "docker.io/library/busybox:1@" + dg, "busybox:1@" + dg, "registry-1.docker.io", false},
		{"my_app/a__b.c-d---e", "docker.io/my_app/a__b.c-d---e:latest", "my_app/a__b.c-d---e:latest", "registry-1.docker.io", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.full, r.String())
			assert.Equal(t, tt.familiar, r.Familiar())
			assert.Equal(t, tt.apiHost, r.APIHost())
			assert.Equal(t, tt.loopback, r.IsLoopback())
			again, err := ParseReference(r.String())
			require.NoError(t, err, "the full form parses back")
			assert.Equal(t, r, again)
		})
	}
}

func TestParseReferenceRefusesWithAReason(t *testing.T) {
	tests := []struct{ in, why string }{
		{"", "empty"},
		{"Busybox", "must be lowercase"},
		{"user/App", "must be lowercase"},
		{"busybox:", "a tag is"},
		{"busybox:-x", "a tag is"},
		{"busybox@sha256:abc", "digest"},
		{"busybox@md5:0123", "digest"},
		{"a//b", "empty part"},
		{"/busybox", "empty part"},
		{"a/b/", "empty part"},
		{"ex ample/app", "not a valid"},
		{"localhost:port/app", "not a number"},
		{"app..x", "not a valid name component"},
		{"-app", "not a valid name component"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseReference(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidReference)
			assert.Contains(t, err.Error(), tt.why)
		})
	}
}

// validTag is the tag grammar, [\w][\w.-]{0,127}, without the regexp.
func TestValidTagIsTheTagGrammar(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"latest", true},
		{"1.36", true},
		{"_x", true},
		{"v1.0-rc_2", true},
		{"A", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{".x", false},
		{"-x", false},
		{"a/b", false},
		{"a:b", false},
		{"a b", false},
		{"é", false}, // \w is ASCII only
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, validTag(tt.tag), "%q", tt.tag)
	}
}

// validComponent and validDomainPart are the grammar's two other patterns,
// [a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)* and
// [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], without regexps.
func TestNameGrammarWithoutRegexps(t *testing.T) {
	components := map[string]bool{
		"busybox": true, "a": true, "0": true, "a.b": true, "a_b": true, "a__b": true,
		"a-b": true, "a---b": true, "a.b_c__d-e": true, "my_app": true,
		"": false, ".a": false, "a.": false, "a..b": false, "a___b": false, "a._b": false,
		"a-.b": false, "-a": false, "a-": false, "A": false, "a b": false, "a/b": false,
	}
	for c, want := range components {
		assert.Equal(t, want, validComponent(c), "component %q", c)
	}
	domainParts := map[string]bool{
		"docker": true, "io": true, "Registry": true, "a": true, "a-b": true, "a--b": true, "0": true,
		"": false, "-a": false, "a-": false, "a_b": false, "a:b": false, "é": false,
	}
	for p, want := range domainParts {
		assert.Equal(t, want, validDomainPart(p), "domain part %q", p)
	}
}
