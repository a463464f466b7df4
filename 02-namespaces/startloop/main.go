// Command startloop starts and reaps /bin/true in every namespace but user,
// n times, and prints the time per start in nanoseconds. It exists for
// BenchmarkStartAllNamespacesLean: a small binary re-executes itself as the
// container's init faster than a large test binary does, and the difference
// is what a lean engine binary gains.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	namespaces "berth/02-namespaces"
)

func main() {
	namespaces.Init()
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: startloop ROOTFS N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "startloop: N must be a positive number")
		os.Exit(2)
	}
	s := namespaces.Spec{Rootfs: os.Args[1], Args: []string{"/bin/true"}, Hostname: "bench",
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.IPC, namespaces.Network, namespaces.Cgroup}}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := namespaces.Run(context.Background(), s, nil, io.Discard, io.Discard); err != nil {
			fmt.Fprintln(os.Stderr, "startloop:", err)
			os.Exit(1)
		}
	}
	fmt.Println(time.Since(start).Nanoseconds() / int64(n))
}
