// Command hog uses up one resource, for cgroup tests and demos:
//
//	hog mem MiB    allocate and touch MiB mebibytes, 4 at a time, saying so
//	hog fork N     fork N sleeping children as fast as it can, counting the
//	               forks the kernel refuses, then wait
//	hog spin       burn CPU forever
//
// It is static (CGO_ENABLED=0) so it runs in a busybox rootfs. A shell is
// no good for the fork bomb: busybox sh exits at the first fork that fails.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "mem":
		mem(arg(2))
	case "fork":
		fork(arg(2))
	case "spin":
		for {
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: hog mem MiB | hog fork N | hog spin")
	os.Exit(2)
}

func arg(i int) int {
	if len(os.Args) <= i {
		usage()
	}
	n, err := strconv.Atoi(os.Args[i])
	if err != nil || n < 1 {
		usage()
	}
	return n
}

var keep [][]byte

func mem(mib int) {
	for i := 1; i <= mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1 // touch every page: only touched memory is charged
		}
		keep = append(keep, b)
		if i%4 == 0 || i == mib {
			fmt.Printf("hog: %d MiB\n", i)
		}
	}
	fmt.Println("hog: all allocated")
}

func fork(n int) {
	// One thread asks for fewer tasks: the pids controller counts threads.
	runtime.GOMAXPROCS(1)
	ok, refused := 0, 0
	for i := 0; i < n; i++ {
		_, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "3600"}, &syscall.ProcAttr{})
		if err != nil {
			refused++
			continue
		}
		ok++
	}
	fmt.Printf("hog: forked %d, refused %d\n", ok, refused)
	time.Sleep(time.Hour)
}
