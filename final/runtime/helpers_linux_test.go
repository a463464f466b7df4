package runtime_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// newSpec is Docker's default spec for a fresh busybox rootfs, with a
// hostname, running args.
func newSpec(t *testing.T, args ...string) *specs.Spec {
	t.Helper()
	spec := runtime.Default(testkit.Rootfs(t), args)
	spec.Hostname = "box"
	return spec
}

// run starts spec with stdout and stderr on one pipe and waits for it.
func run(t *testing.T, spec *specs.Spec) (string, runtime.ExitStatus, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	p, err := runtime.Start(spec, runtime.StartOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}})
	w.Close()
	if err != nil {
		return "", runtime.ExitStatus{}, err
	}
	out, _ := io.ReadAll(r)
	st, err := p.Wait()
	return string(out), st, err
}

// mustRun runs spec and requires it to exit 0.
func mustRun(t *testing.T, spec *specs.Spec) string {
	t.Helper()
	out, st, err := run(t, spec)
	require.NoError(t, err)
	require.Equal(t, 0, st.Code, "output: %s", out)
	return out
}

// lines splits output into trimmed lines.
func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

// started is a running process a test must not leave behind.
func started(t *testing.T, p *runtime.Process) *runtime.Process {
	t.Cleanup(func() {
		p.Signal(unix.SIGKILL)
		p.Wait()
	})
	return p
}

// startLong starts spec (a long-running command) with its output on a
// pipe, and kills it when the test ends.
func startLong(t *testing.T, spec *specs.Spec) (*runtime.Process, *bufio.Reader) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	p, err := runtime.Start(spec, runtime.StartOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}})
	w.Close()
	require.NoError(t, err)
	return started(t, p), bufio.NewReader(r)
}

// execRun runs proc in the container of init pid and waits for it.
func execRun(t *testing.T, pid int, proc *specs.Process) (string, runtime.ExitStatus, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	p, err := runtime.Exec(pid, proc, runtime.ExecOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}})
	w.Close()
	if err != nil {
		return "", runtime.ExitStatus{}, err
	}
	started(t, p)
	out, _ := io.ReadAll(r)
	st, err := p.Wait()
	return string(out), st, err
}

// withPty opens a pseudo-terminal of the given size, returns its slave as
// stdio and a function that reads everything the master gets until the
// process closes its side.
func withPty(t *testing.T, rows, cols uint16) (runtime.Stdio, func() string) {
	t.Helper()
	master, slave, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { master.Close(); slave.Close() })
	require.NoError(t, pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}))
	read := func() string {
		slave.Close() // only the container holds the slave now
		var b strings.Builder
		buf := make([]byte, 4096)
		master.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			n, err := master.Read(buf)
			b.Write(buf[:n])
			// EIO: every slave descriptor is closed.
			if err != nil {
				if !errors.Is(err, unix.EIO) && !errors.Is(err, io.EOF) {
					t.Errorf("reading the terminal: %v", err)
				}
				return strings.ReplaceAll(b.String(), "\r\n", "\n")
			}
		}
	}
	return runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave}, read
}

// startError requires err to be a *runtime.StartError and returns it.
func startError(t *testing.T, err error) *runtime.StartError {
	t.Helper()
	var se *runtime.StartError
	require.ErrorAs(t, err, &se)
	return se
}
