package namespaces

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Children returns the PIDs (host numbering) of pid's children, from
// /proc/PID/task/PID/children.
func Children(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Zombies counts pid's children that have exited and not been reaped: their
// state in /proc/PID/stat is Z.
func Zombies(pid int) int {
	n := 0
	for _, c := range Children(pid) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold anything: the
		// state is the first field after the last ')'.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && bytes.HasPrefix(bytes.TrimSpace(stat[i+1:]), []byte("Z")) {
			n++
		}
	}
	return n
}
