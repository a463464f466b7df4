//go:build !linux

package demo

import (
	"context"
	"errors"

	"berth/steps/testkit/narrate"
)

// Run needs Linux: bridges, veth pairs and iptables are Linux's.
func Run(context.Context, *narrate.Narrator) error {
	return errors.New("demo 5 needs Linux")
}
