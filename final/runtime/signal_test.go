package runtime_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		err  string
	}{
		{"KILL", unix.SIGKILL, ""},
		{"SIGKILL", unix.SIGKILL, ""},
		{"sigterm", unix.SIGTERM, ""},
		{"term", unix.SIGTERM, ""},
		{"9", unix.SIGKILL, ""},
		{" 15 ", unix.SIGTERM, ""},
		{"HUP", unix.SIGHUP, ""},
		{"SIGUSR1", unix.SIGUSR1, ""},
		{"usr2", unix.SIGUSR2, ""},
		{"SIGWINCH", unix.SIGWINCH, ""},
		{"SIGCHLD", unix.SIGCHLD, ""},
		{"CLD", unix.SIGCHLD, ""},
		{"IOT", unix.SIGABRT, ""},
		{"SIGRTMIN", unix.Signal(34), ""},
		{"SIGRTMIN+3", unix.Signal(37), ""},
		{"rtmax-1", unix.Signal(63), ""},
		{"RTMAX", unix.Signal(64), ""},
		{"64", unix.Signal(64), ""},
		{"", 0, "empty"},
		{"0", 0, "invalid signal number 0"},
		{"65", 0, "invalid signal number 65"},
		{"-9", 0, "invalid signal number -9"},
		{"SIGFOO", 0, `unknown signal "SIGFOO"`},
		{"SIGRTMIN-1", 0, "unknown signal"},
		{"SIGRTMAX+1", 0, "unknown signal"},
		{"SIGRTMIN+31", 0, "unknown signal"},
		{"SIGRTMIN+x", 0, "unknown signal"},
		{"SIG", 0, "unknown signal"},
	}
	for _, tt := range tests {
		got, err := runtime.ParseSignal(tt.in)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%q", tt.in)
			continue
		}
		if assert.NoError(t, err, "%q", tt.in) {
			assert.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

func TestExitStatusString(t *testing.T) {
	assert.Equal(t, "exit code 3", runtime.ExitStatus{Code: 3}.String())
	assert.Equal(t, "killed by SIGKILL (exit code 137)", runtime.ExitStatus{Code: 137, Signal: unix.SIGKILL}.String())
	assert.Equal(t, "killed by SIGABRT (exit code 134)", runtime.ExitStatus{Code: 134, Signal: unix.SIGABRT}.String())
	assert.Equal(t, "killed by SIGRTMIN+2 (exit code 164)", runtime.ExitStatus{Code: 164, Signal: unix.Signal(36)}.String())
}
