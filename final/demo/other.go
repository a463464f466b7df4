//go:build !linux

package demo

import (
	"context"
	"errors"

	"berth/steps/testkit/narrate"
)

// Run needs Linux: berth's containers are Linux processes.
func Run(context.Context, *narrate.Narrator) error {
	return errors.New("demo 7 needs Linux")
}
