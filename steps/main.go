// Command steps is the berth course runner: go run ./steps list|doctor|demo N|check [N].
package main

import (
	"os"

	chroot "berth/01-chroot"
	namespaces "berth/02-namespaces"
)

func main() {
	// The demos re-execute this program as a jail's or a container's init,
	// or as a joiner; each Init takes over (and never returns) when this
	// process is one.
	chroot.Init()
	namespaces.Init()
	os.Exit(execute())
}
