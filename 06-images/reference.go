package image

import (
	"fmt"
	"net"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Docker Hub's names: what a user types, what it means, where it lives.
const (
	DefaultDomain = "docker.io"
	// HubAPIHost is the host that serves docker.io's registry API.
	HubAPIHost    = "registry-1.docker.io"
	officialRepos = "library"
	DefaultTag    = "latest"
)

// Reference is an image name split into its parts, normalised as Docker
// does: "busybox" is docker.io/library/busybox:latest.
type Reference struct {
	Domain string        // "docker.io", "localhost:5000", "ghcr.io"
	Path   string        // "library/busybox", "user/app"
	Tag    string        // "latest"; empty when only a digest is given
	Digest digest.Digest // "sha256:..."; empty when named by tag
}

// The reference grammar, checked by loops rather than regexps: compiling
// the patterns took the first ParseReference of every berth process over
// 2 ms, on the path of every command that names an image.

// validComponent says whether c is a path component: runs of lowercase
// letters and digits, joined by single separators (".", "_", "__", or a
// run of "-"), as [a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)* says.
func validComponent(c string) bool {
	i := 0
	for {
		j := i
		for j < len(c) && isLowerAlnum(c[j]) {
			j++
		}
		if j == i {
			return false // empty, or a separator where a run must be
		}
		if j == len(c) {
			return true
		}
		k := j
		for k < len(c) && !isLowerAlnum(c[k]) {
			k++
		}
		sep := c[j:k]
		if sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
			return false
		}
		i = k
	}
}

// validDomainPart says whether p is one dot-separated part of a registry
// host: letters, digits and inner dashes.
func validDomainPart(p string) bool {
	if p == "" || p[0] == '-' || p[len(p)-1] == '-' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isLowerAlnum(p[i]) && !(p[i] >= 'A' && p[i] <= 'Z') && p[i] != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validTag says whether t is a tag: a word character, then at most 127
// word characters, dots and dashes ([\w][\w.-]{0,127}; that {0,127} alone
// compiles into 127 copies of its class).
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		word := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if !word && (i == 0 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// ParseReference reads a name the way `docker pull` does. The first
// component is a registry host only if it looks like one (it has a "." or a
// ":" or is "localhost"); otherwise the image is on Docker Hub, where
// one-word names are official images under library/.
func ParseReference(s string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w: %q: %s", ErrInvalidReference, s, why)
	}
	if s == "" {
		return bad("the name is empty")
	}
	var r Reference
	name := s
	if i := strings.Index(name, "@"); i >= 0 {
		d, err := digest.Parse(name[i+1:])
		if err != nil {
			return bad("the digest must be sha256: followed by 64 hex digits")
		}
		r.Digest, name = d, name[:i]
	}
	// A tag follows the last ":" that comes after the last "/": a ":"
	// before it belongs to a registry port.
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		r.Tag, name = name[i+1:], name[:i]
		if !validTag(r.Tag) {
			return bad("a tag is letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'")
		}
	}
	domain, path := splitDomain(name)
	if domain == "" || path == "" {
		return bad("the name has an empty part")
	}
	if err := checkDomain(domain); err != nil {
		return bad(err.Error())
	}
	for _, c := range strings.Split(path, "/") {
		if c == "" {
			return bad("the name has an empty part")
		}
		if !validComponent(c) {
			if strings.ToLower(c) == c || !validComponent(strings.ToLower(c)) {
				return bad(fmt.Sprintf("%q is not a valid name component", c))
			}
			return bad("repository name must be lowercase")
		}
	}
	if domain == DefaultDomain && !strings.Contains(path, "/") {
		path = officialRepos + "/" + path
	}
	if len(domain)+1+len(path) > 255 {
		return bad("the name is longer than 255 characters")
	}
	r.Domain, r.Path = domain, path
	if r.Tag == "" && r.Digest == "" {
		r.Tag = DefaultTag
	}
	return r, nil
}

// splitDomain separates a registry host from the repository path.
func splitDomain(name string) (domain, path string) {
	i := strings.Index(name, "/")
	if i < 0 {
		return DefaultDomain, name
	}
	first := name[:i]
	// Docker's rule: a host has a "." or ":", or is localhost, or has
	// capitals (which no repository path may have).
	if !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first {
		return DefaultDomain, name
	}
	if first == "index.docker.io" {
		first = DefaultDomain
	}
	return first, name[i+1:]
}

func checkDomain(d string) error {
	host := d
	if h, port, err := net.SplitHostPort(d); err == nil {
		host = h
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("the registry port %q is not a number", port)
		}
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return nil
	}
	for _, p := range strings.Split(host, ".") {
		if !validDomainPart(p) {
			return fmt.Errorf("%q is not a valid registry host", d)
		}
	}
	return nil
}

// String is the full, normalised name: docker.io/library/busybox:latest.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// Name is the repository without tag or digest: docker.io/library/busybox.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// Familiar is the short form Docker prints: busybox:latest, user/app:1.
func (r Reference) Familiar() string {
	s := r.String()
	if r.Domain == DefaultDomain {
		s = strings.TrimPrefix(strings.TrimPrefix(s, DefaultDomain+"/"), officialRepos+"/")
	}
	return s
}

// Identifier is what a registry URL names: the digest if there is one,
// else the tag.
func (r Reference) Identifier() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// APIHost is the host that serves the registry's HTTP API.
func (r Reference) APIHost() string {
	if r.Domain == DefaultDomain {
		return HubAPIHost
	}
	return r.Domain
}

// IsLoopback says whether the registry is on this machine: such registries
// are spoken to in plain HTTP, as Docker does for 127.0.0.0/8.
func (r Reference) IsLoopback() bool {
	host := r.Domain
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
