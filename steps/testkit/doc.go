// Package testkit is what every chapter's tests share: one helper that
// decides privilege (RequireRoot), a busybox root filesystem built from the
// host's static busybox, a static probe program that reports what a process
// inside a container sees, and a residue check that proves a test left the
// host as it found it.
//
// The builders have two faces: plain functions that return errors (used by
// the course runner and the demos) and testing.TB helpers that skip or fail
// with a reason a student can act on.
//
// Nothing here needs root except what the privileged tests themselves do.
package testkit
