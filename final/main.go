//go:build linux

// Command berth is a container engine driven like docker: berth run,
// ps, logs, exec, stop, rm, network, volume, import... See berth --help.
package main

import (
	"os"

	"berth/final/cli"
	"berth/final/engine"
	"berth/final/runtime"
)

func main() {
	// berth re-executes itself as a container's init or an exec'd process
	// (runtime.Init) and as a container's monitor (engine.Shim); each
	// takes over, never returning, when this process is one.
	runtime.Init()
	engine.Shim()
	os.Exit(cli.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
