//go:build !linux

// Command berth runs containers, which are made of Linux kernel
// mechanisms: on any other system it says so and exits.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "berth: containers need Linux (namespaces, cgroups, overlayfs); run berth on a Linux machine or VM")
	os.Exit(125)
}
