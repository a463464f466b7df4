package image

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
)

var (
	// ErrInvalidReference means a name does not follow Docker's grammar.
	ErrInvalidReference = errors.New("image: invalid reference format")
	// ErrNotFound means the store holds no image by that name.
	ErrNotFound = errors.New("image: no such image")
	// ErrBlobNotFound means the store lacks a blob an image refers to.
	ErrBlobNotFound = errors.New("image: blob not in the store")
	// ErrDigestMismatch means bytes did not hash to the digest that names them.
	ErrDigestMismatch = errors.New("image: digest mismatch")
	// ErrSizeMismatch means a blob was not as long as its descriptor says.
	ErrSizeMismatch = errors.New("image: size mismatch")
	// ErrMediaType means a document is not what its media type says, or is
	// of a type berth does not know.
	ErrMediaType = errors.New("image: unexpected media type")
	// ErrNoPlatform means an image index has no manifest for this host.
	ErrNoPlatform = errors.New("image: no manifest for this platform")
	// ErrUnauthorized means the registry refused the credentials, or wanted some.
	ErrUnauthorized = errors.New("image: registry authentication failed")
	// ErrManifestUnknown means the registry has no such repository or tag.
	ErrManifestUnknown = errors.New("image: not found in the registry")
	// ErrNotSaveTarball means Load was given something that is not a
	// `docker save` tarball: not a tar at all, or one without manifest.json
	// (a root filesystem, which Import takes).
	ErrNotSaveTarball = errors.New("image: not a docker save tarball")
	// ErrBadTarball means a tarball is damaged or unsafe: truncated, with
	// names that climb out of it, or with files that are not what they
	// claim to be.
	ErrBadTarball = errors.New("image: damaged or unsafe tarball")
)

// DigestError says which blob failed verification and where.
type DigestError struct {
	Want, Got digest.Digest
	What      string // "layer 2 of docker.io/library/busybox:latest", "blob"...
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("image: %s: content has digest %s, want %s (corrupted or tampered with: pull or load the image again)", e.What, e.Got, e.Want)
}

func (e *DigestError) Unwrap() error { return ErrDigestMismatch }

// RegistryError is an error response from a registry: its HTTP status and
// the distribution spec's error codes (MANIFEST_UNKNOWN, DENIED, ...).
type RegistryError struct {
	Method, URL string
	Status      int
	Codes       []string
	Message     string
	err         error // the sentinel it matches, if any
}

func (e *RegistryError) Error() string {
	msg := fmt.Sprintf("image: %s %s: %d", e.Method, e.URL, e.Status)
	if len(e.Codes) > 0 {
		msg += " " + fmt.Sprint(e.Codes)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *RegistryError) Unwrap() error { return e.err }
