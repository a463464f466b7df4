package host

import "errors"

// ErrKernelVersion means a kernel release string does not start with
// major.minor.
var ErrKernelVersion = errors.New("host: invalid kernel release")

// ErrNoCgroup means no cgroup filesystem (v1 or v2) is mounted.
var ErrNoCgroup = errors.New("host: no cgroup filesystem mounted")
