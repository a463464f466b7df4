// Command breakout runs inside a jail and tries the classic chroot escape
// (chroot.Escape). It prints what / holds before and after, and, with
// -read FILE, the contents of a file only the host has, so a test or a demo
// can tell whether it got out. Build it static so it needs nothing from the
// rootfs: CGO_ENABLED=0 go build ./01-chroot/breakout
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	chroot "berth/01-chroot"
)

func main() {
	read := flag.String("read", "", "a host `file` to read after the escape")
	flag.Parse()

	fmt.Println("before: / holds:", list("/"))
	if err := chroot.Escape(); err != nil {
		fmt.Fprintln(os.Stderr, "breakout:", err)
		os.Exit(1)
	}
	fmt.Println("after:  / holds:", list("/"))
	if *read != "" {
		if b, err := os.ReadFile(*read); err != nil {
			fmt.Println("read:", err)
		} else {
			fmt.Printf("read: %s: %s\n", *read, strings.TrimSpace(string(b)))
		}
	}
}

func list(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
