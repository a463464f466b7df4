package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// signalNames are Linux's signals by number (signal(7)), without the SIG
// prefix. The numbers are the x86/arm ones every architecture Go supports on
// Linux uses, except MIPS, SPARC and Alpha, which berth does not target.
var signalNames = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
	"TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
	"WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

// The real-time signals glibc leaves to programs: SIGRTMIN is 34 for them.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// ParseSignal reads a signal as `docker kill -s` and a Dockerfile's
// STOPSIGNAL accept it: a name with or without SIG, in any case ("KILL",
// "SIGKILL", "sigterm"), a number ("9"), or a real-time signal
// ("SIGRTMIN+3", "RTMAX-1").
func ParseSignal(s string) (unix.Signal, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("runtime: empty signal name")
	}
	if n, err := strconv.Atoi(in); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("runtime: invalid signal number %d (want 1 to %d)", n, sigRTMax)
		}
		return unix.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(in), "SIG")
	if n, ok := signalNames[name]; ok {
		return unix.Signal(n), nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		if !strings.HasPrefix(name, rt.prefix) {
			continue
		}
		rest := name[len(rt.prefix):]
		off := 0
		if rest != "" {
			sign := rest[0]
			n, err := strconv.Atoi(rest[1:])
			if err != nil || n < 0 || (sign != '+' && sign != '-') || (rt.sign > 0) != (sign == '+') {
				break
			}
			off = n
		}
		if n := rt.base + rt.sign*off; n >= sigRTMin && n <= sigRTMax {
			return unix.Signal(n), nil
		}
	}
	return 0, fmt.Errorf("runtime: unknown signal %q (want a name such as TERM or SIGKILL, or a number)", s)
}

// signalName renders a signal as SIGKILL (or SIG42 for one without a name).
func signalName(sig unix.Signal) string {
	best := ""
	for name, n := range signalNames {
		// Of aliases, the alphabetically first is the usual name: ABRT
		// before IOT, CHLD before CLD, IO before POLL.
		if n == int(sig) && (best == "" || name < best) {
			best = name
		}
	}
	switch {
	case best != "":
		return "SIG" + best
	case int(sig) >= sigRTMin && int(sig) <= sigRTMax:
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-sigRTMin)
	}
	return fmt.Sprintf("SIG%d", int(sig))
}
