package engine

import "errors"

// Errors the CLI and the daemon turn into messages and status codes (404,
// 409, 400 in the Docker API).
var (
	// ErrNotFound: no such container, volume or network.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a name in use, a running container removed without
	// force, a volume in use.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a request that cannot be carried out as written.
	ErrInvalid = errors.New("invalid")
	// ErrNotRunning: an operation that needs a running container.
	ErrNotRunning = errors.New("not running")
	// ErrImageNotFound: the image is not in the store.
	ErrImageNotFound = errors.New("image not found")
	// ErrDetached: an attachment ended by the detach keys.
	ErrDetached = errors.New("detached")
)
