package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`)
	assert.Equal(t, "Bearer", scheme)
	assert.Equal(t, map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
		"scope": "repository:library/busybox:pull"}, p)
	scheme, p = parseChallenge(`Basic realm="Registry Realm"`)
	assert.Equal(t, "Basic", scheme)
	assert.Equal(t, "Registry Realm", p["realm"])
	_, p = parseChallenge(`Bearer realm="a\"b", service=plain , error="insufficient_scope"`)
	assert.Equal(t, `a"b`, p["realm"])
	assert.Equal(t, "plain", p["service"])
	assert.Equal(t, "insufficient_scope", p["error"])
}

// A registry in Docker Hub's manner: every /v2/ request wants a bearer
// token, which the token service gives for the right scope (and, for this
// test, only with the right password).
func TestBearerTokenDance(t *testing.T) {
	var tokenQueries []string
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		tokenQueries = append(tokenQueries, r.URL.RawQuery)
		if u, pw, ok := r.BasicAuth(); !ok || u != "ada" || pw != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"token":"T-` + r.URL.Query().Get("scope") + `"}`))
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer T-repository:team/app:pull" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test-registry",scope="repository:team/app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := ParseReference(host + "/team/app:1")
	require.NoError(t, err)

	var trace bytes.Buffer
	c := NewClient(WithCredentials(host, Credentials{User: "ada", Password: "s3cret"}), WithTrace(&trace))
	require.NoError(t, c.Ping(context.Background(), ref))
	require.Len(t, tokenQueries, 1)
	assert.Contains(t, tokenQueries[0], "service=test-registry")
	assert.Contains(t, tokenQueries[0], "scope=repository%3Ateam%2Fapp%3Apull")
	assert.Contains(t, trace.String(), "< 401 Unauthorized  Content-Length")
	assert.Contains(t, trace.String(), "[Authorization: Bearer …]")
	assert.NotContains(t, trace.String(), "T-repository", "tokens never reach the trace")

	require.NoError(t, c.Ping(context.Background(), ref))
	assert.Len(t, tokenQueries, 1, "the token is reused for the same scope")

	wrong := NewClient(WithCredentials(host, Credentials{User: "ada", Password: "nope"}))
	err = wrong.Ping(context.Background(), ref)
	assert.ErrorIs(t, err, ErrUnauthorized)
}

func TestDockerConfigCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("ada:pa:ss"))
	require.NoError(t, os.WriteFile(path, []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"`+auth+`"},"127.0.0.1:5000":{"auth":"`+auth+`"}}}`), 0o600))
	opts, err := DockerConfigCredentials(path)
	require.NoError(t, err)
	c := NewClient(opts...)
	assert.Equal(t, Credentials{User: "ada", Password: "pa:ss"}, c.creds["docker.io"], "Hub's legacy key means docker.io")
	assert.Equal(t, Credentials{User: "ada", Password: "pa:ss"}, c.creds["127.0.0.1:5000"])

	opts, err = DockerConfigCredentials(filepath.Join(dir, "missing.json"))
	assert.NoError(t, err, "no config file is no credentials")
	assert.Empty(t, opts)
}
