package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Client speaks the OCI distribution API, the HTTP protocol every registry
// serves under /v2/. It authenticates the way registries ask: a request
// without credentials gets 401 and a WWW-Authenticate challenge; "Basic"
// wants a user and password on every request, "Bearer" (Docker Hub) wants a
// token fetched from the realm it names, scoped to one repository and
// action.
type Client struct {
	hc       *http.Client
	creds    map[string]Credentials // by registry host
	insecure map[string]bool        // hosts spoken to in plain HTTP
	trace    io.Writer
	chunk    int64
	agent    string

	mu     sync.Mutex
	tokens map[string]string // "host scope" → bearer token
	basic  map[string]bool   // hosts that asked for Basic
}

// Credentials are a user name and a password or access token.
type Credentials struct {
	User, Password string
}

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithCredentials gives the credentials for one registry host
// ("docker.io", "127.0.0.1:5000").
func WithCredentials(host string, c Credentials) ClientOption {
	return func(cl *Client) { cl.creds[normalHost(host)] = c }
}

// WithInsecure speaks plain HTTP to these hosts. Loopback hosts always are.
func WithInsecure(hosts ...string) ClientOption {
	return func(cl *Client) {
		for _, h := range hosts {
			cl.insecure[normalHost(h)] = true
		}
	}
}

// WithTrace writes one line per HTTP request and response to w: the
// registry conversation, for learning and for debugging. Tokens and
// passwords are never written.
func WithTrace(w io.Writer) ClientOption { return func(cl *Client) { cl.trace = w } }

// WithChunkSize uploads blobs in PATCH requests of at most n bytes, then a
// closing PUT. Without it (n = 0) a blob goes in one monolithic PUT.
func WithChunkSize(n int64) ClientOption { return func(cl *Client) { cl.chunk = n } }

// WithHTTPClient replaces the HTTP client (timeouts, proxies, TLS roots).
func WithHTTPClient(hc *http.Client) ClientOption { return func(cl *Client) { cl.hc = hc } }

// NewClient returns a registry client.
func NewClient(opts ...ClientOption) *Client {
	c := &Client{
		hc:       &http.Client{Transport: http.DefaultTransport},
		creds:    map[string]Credentials{},
		insecure: map[string]bool{},
		tokens:   map[string]string{},
		basic:    map[string]bool{},
		agent:    "berth/0.6 (chapter 06)",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// normalHost maps Docker Hub's many names to one.
func normalHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://"), "/")
	switch h {
	case "index.docker.io", "index.docker.io/v1", "registry-1.docker.io", DefaultDomain:
		return DefaultDomain
	}
	return h
}

// DockerConfigCredentials reads the "auths" of a docker CLI config file
// (~/.docker/config.json, where `docker login` writes), so a Docker user's
// logins work. Credential helpers (credsStore) are not supported.
func DockerConfigCredentials(path string) ([]ClientOption, error) {
	if path == "" {
		dir := os.Getenv("DOCKER_CONFIG")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, nil
			}
			dir = filepath.Join(home, ".docker")
		}
		path = filepath.Join(dir, "config.json")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: reading %s: %w", path, err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("image: %s is not valid JSON: %w", path, err)
	}
	var opts []ClientOption
	for host, a := range cfg.Auths {
		raw, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil || !strings.Contains(string(raw), ":") {
			continue
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		opts = append(opts, WithCredentials(host, Credentials{User: user, Password: pass}))
	}
	return opts, nil
}

// endpoint is one repository on one registry.
type endpoint struct {
	ref    Reference
	scheme string
	host   string // API host
	creds  *Credentials
}

func (c *Client) endpoint(ref Reference) endpoint {
	e := endpoint{ref: ref, scheme: "https", host: ref.APIHost()}
	if ref.IsLoopback() || c.insecure[normalHost(ref.Domain)] {
		e.scheme = "http"
	}
	if cr, ok := c.creds[normalHost(ref.Domain)]; ok {
		e.creds = &cr
	}
	return e
}

// url builds https://host/v2/<repository>/<suffix>.
func (e endpoint) url(suffix string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", e.scheme, e.host, e.ref.Path, suffix)
}

// resolve turns a Location header (absolute or relative) into a URL.
func (e endpoint) resolve(loc string) (string, error) {
	base, _ := url.Parse(fmt.Sprintf("%s://%s/", e.scheme, e.host))
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("image: the registry sent a bad Location %q: %w", loc, err)
	}
	return u.String(), nil
}

// request is what do needs to send (and, after a 401, send again).
type request struct {
	method  string
	url     string
	header  http.Header
	body    func() (io.ReadCloser, error) // nil for no body; called per attempt
	size    int64                         // Content-Length, -1 unknown
	scope   string                        // "repository:library/busybox:pull"
	allowed []int                         // statuses that are not errors
}

// do sends r, answering one authentication challenge if the registry
// makes one, and turns unexpected statuses into RegistryErrors.
func (c *Client) do(ctx context.Context, e endpoint, r request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, nil)
		if err != nil {
			return nil, fmt.Errorf("image: %s %s: %w", r.method, r.url, err)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", c.agent)
		if r.body != nil {
			body, err := r.body()
			if err != nil {
				return nil, err
			}
			req.Body, req.ContentLength = body, r.size
			if r.size == 0 {
				req.Body = http.NoBody
			}
		}
		c.authorize(req, e, r.scope)
		c.traceRequest(req)
		resp, err := c.hc.Do(req)
		if err != nil {
			hint := ""
			if e.scheme == "https" && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
				hint = " (the registry speaks plain HTTP: mark it insecure)"
			}
			return nil, fmt.Errorf("image: %s %s: %w%s", r.method, r.url, err, hint)
		}
		c.traceResponse(resp)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			challenge := resp.Header.Get("WWW-Authenticate")
			drain(resp)
			if err := c.answer(ctx, e, challenge, r.scope); err != nil {
				return nil, err
			}
			continue
		}
		for _, ok := range r.allowed {
			if resp.StatusCode == ok {
				return resp, nil
			}
		}
		defer drain(resp)
		return nil, registryError(r.method, r.url, resp)
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// registryError reads the distribution spec's error body:
// {"errors":[{"code":"MANIFEST_UNKNOWN","message":"...","detail":...}]}.
func registryError(method, u string, resp *http.Response) error {
	e := &RegistryError{Method: method, URL: u, Status: resp.StatusCode}
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) == nil {
		var msgs []string
		for _, x := range body.Errors {
			e.Codes = append(e.Codes, x.Code)
			msgs = append(msgs, x.Message)
		}
		e.Message = strings.Join(msgs, "; ")
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || hasCode(e.Codes, "UNAUTHORIZED", "DENIED"):
		e.err = ErrUnauthorized
	case resp.StatusCode == http.StatusNotFound || hasCode(e.Codes, "MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
		e.err = ErrManifestUnknown
	}
	return e
}

func hasCode(codes []string, want ...string) bool {
	for _, c := range codes {
		for _, w := range want {
			if c == w {
				return true
			}
		}
	}
	return false
}

// authorize adds what the registry asked for last time: a token for this
// scope, or Basic credentials.
func (c *Client) authorize(req *http.Request, e endpoint, scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok, ok := c.tokens[e.host+" "+scope]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
		return
	}
	if c.basic[e.host] && e.creds != nil {
		req.SetBasicAuth(e.creds.User, e.creds.Password)
	}
}

// answer meets a WWW-Authenticate challenge.
func (c *Client) answer(ctx context.Context, e endpoint, challenge, scope string) error {
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		if e.creds == nil {
			return fmt.Errorf("%w: %s wants a user name and password (log in, or give credentials)", ErrUnauthorized, e.ref.Domain)
		}
		c.mu.Lock()
		c.basic[e.host] = true
		c.mu.Unlock()
		return nil
	case "bearer":
		tok, err := c.fetchToken(ctx, e, params, scope)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.tokens[e.host+" "+scope] = tok
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("%w: %s answered 401 with a challenge berth does not understand: %q", ErrUnauthorized, e.ref.Domain, challenge)
}

// fetchToken asks the realm for a token:
// GET realm?service=...&scope=repository:library/busybox:pull, with Basic
// credentials if we have any (anonymous tokens are enough to pull public
// images from Docker Hub).
func (c *Client) fetchToken(ctx context.Context, e endpoint, params map[string]string, scope string) (string, error) {
	realm := params["realm"]
	if realm == "" {
		return "", fmt.Errorf("%w: %s sent a Bearer challenge without a realm", ErrUnauthorized, e.ref.Domain)
	}
	u, err := url.Parse(realm)
	if err != nil {
		return "", fmt.Errorf("%w: bad token realm %q: %v", ErrUnauthorized, realm, err)
	}
	q := u.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	if scope != "" {
		for _, sc := range strings.Split(scope, " ") {
			q.Add("scope", sc)
		}
	} else if s := params["scope"]; s != "" {
		q.Set("scope", s)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("image: token request: %w", err)
	}
	req.Header.Set("User-Agent", c.agent)
	if e.creds != nil {
		req.SetBasicAuth(e.creds.User, e.creds.Password)
	}
	c.traceRequest(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("image: fetching a token from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	c.traceResponse(resp)
	if resp.StatusCode != http.StatusOK {
		return "", registryError("GET", realm, resp)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("%w: the token from %s is not JSON: %v", ErrUnauthorized, u.Host, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return "", fmt.Errorf("%w: %s returned no token", ErrUnauthorized, u.Host)
	}
	return tr.Token, nil
}

// parseChallenge reads `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."`.
func parseChallenge(h string) (scheme string, params map[string]string) {
	params = map[string]string{}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			// A quoted string; a backslash escapes the next character.
			var sb strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				sb.WriteByte(after[i])
			}
			val, rest = sb.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		params[key] = val
		rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
	}
	return scheme, params
}

// traceRequest and traceResponse write the conversation, one line each.
func (c *Client) traceRequest(req *http.Request) {
	if c.trace == nil {
		return
	}
	line := fmt.Sprintf("> %s %s", req.Method, shortURL(req.URL.String()))
	if a := req.Header.Get("Authorization"); a != "" {
		kind, _, _ := strings.Cut(a, " ")
		line += fmt.Sprintf("  [Authorization: %s …]", kind)
	}
	if a := req.Header.Get("Accept"); a != "" {
		line += "  [Accept: " + a + "]"
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		line += "  [Content-Type: " + ct + "]"
	}
	if cr := req.Header.Get("Content-Range"); cr != "" {
		line += "  [Content-Range: " + cr + "]"
	}
	fmt.Fprintln(c.trace, line)
}

func (c *Client) traceResponse(resp *http.Response) {
	if c.trace == nil {
		return
	}
	line := fmt.Sprintf("< %s", resp.Status)
	for _, h := range []string{"Content-Type", "Content-Length", "Docker-Content-Digest", "Location", "Range", "WWW-Authenticate"} {
		if v := resp.Header.Get(h); v != "" {
			if h == "Content-Type" && strings.HasPrefix(v, "text/plain") {
				continue
			}
			if h == "Location" {
				v = shortURL(v)
			}
			line += fmt.Sprintf("  %s: %s", h, v)
		}
	}
	fmt.Fprintln(c.trace, line)
}

// shortURL makes a URL readable in a trace: query values unescaped, and
// the registry's opaque upload state (a long _state=...) cut short.
func shortURL(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	var parts []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		if len(v) > 24 && !strings.HasPrefix(v, "sha256:") && k != "scope" {
			v = v[:12] + "…"
		}
		parts = append(parts, k+"="+v)
	}
	return base + "?" + strings.Join(parts, "&")
}

// Ping checks that a registry answers the API (GET /v2/), authenticating
// if it asks.
func (c *Client) Ping(ctx context.Context, ref Reference) error {
	e := c.endpoint(ref)
	resp, err := c.do(ctx, e, request{method: http.MethodGet, url: fmt.Sprintf("%s://%s/v2/", e.scheme, e.host),
		scope: "repository:" + ref.Path + ":pull", allowed: []int{http.StatusOK}})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// defaultTimeout bounds requests that move no blob.
const defaultTimeout = 60 * time.Second
