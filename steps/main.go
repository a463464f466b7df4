// Command steps is the berth course runner: go run ./steps list|doctor|demo N|check [N].
package main

import (
	"os"

	chroot "berth/01-chroot"
)

func main() {
	// The demos re-execute this program as a jail's init; Init takes over
	// (and never returns) when this process is one.
	chroot.Init()
	os.Exit(execute())
}
