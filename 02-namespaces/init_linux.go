package namespaces

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
)

// Init turns this process into a container's init or a joiner when Start
// or Join re-executed it as one; otherwise it returns at once. Call it
// before anything else in main (tests: in TestMain). As an init it never
// returns.
func Init() {
	if len(os.Args) != 1 {
		return
	}
	switch os.Args[0] {
	case initName:
		runInit()
	case joinName:
		runJoin()
	}
}

// child is the state of a re-executed child: its report pipe.
type child struct {
	report *os.File
}

// newChild locks the OS thread (every system call from here on must come
// from the same kernel task), and takes over the inherited descriptors.
func newChild(config any) *child {
	runtime.LockOSThread()
	unix.CloseOnExec(reportFD)
	c := &child{report: os.NewFile(reportFD, "report")}
	in := os.NewFile(configFD, "config")
	b, err := io.ReadAll(in)
	in.Close()
	if err == nil {
		err = json.Unmarshal(b, config)
	}
	if err != nil {
		c.fail(0, "reading the configuration", err, 125)
	}
	return c
}

// fail reports a failed step to the parent and exits with code.
func (c *child) fail(index int, call string, err error, code int) {
	se := &chroot.StepError{Index: index, Call: call, Msg: err.Error()}
	errors.As(err, &se.Errno)
	json.NewEncoder(c.report).Encode(se)
	os.Exit(code)
}

// execCode is Docker's exit code for a command that cannot be started:
// 127 when it does not exist, 126 when it cannot be executed.
func execCode(err error) int {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, exec.ErrNotFound) {
		return 127
	}
	return 126
}

func setEnv(env []string) {
	os.Clearenv()
	hasPath := false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
			hasPath = hasPath || k == "PATH"
		}
	}
	if !hasPath {
		os.Setenv("PATH", chroot.DefaultPath)
	}
}

// lookPath finds the command inside the (new) root, with a message a user
// can act on.
func lookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if errors.Is(err, fs.ErrPermission) {
		return "", fmt.Errorf("%s: not executable (check its mode): %w", name, err)
	} else if err != nil {
		return "", fmt.Errorf("%s: command not found in the rootfs: %w", name, err)
	}
	return path, nil
}

// runInit is the container's init: it is already in the new namespaces
// (clone made them) and its uid/gid maps are written. It follows the plan,
// then becomes the command, or starts it and stays as the tiny init.
func runInit() {
	var s Spec
	c := newChild(&s)
	setEnv(s.Env)
	plan, err := s.Plan()
	if err != nil {
		c.fail(0, "planning", err, 125)
	}
	last := len(plan.Steps) - 1
	for i, st := range plan.Steps[:last] {
		if err := do(st); err != nil {
			c.fail(i+1, st.String(), err, 125)
		}
	}
	exe := plan.Steps[last]
	path, err := lookPath(exe.Args[0])
	if err != nil {
		c.fail(last+1, exe.String(), err, execCode(err))
	}
	if !s.Init {
		err := unix.Exec(path, exe.Args, os.Environ())
		c.fail(last+1, exe.String(), err, execCode(err))
	}
	tinyInit(c, last+1, exe, path)
}

// do makes one step's system call: this chapter's own, or chapter 01's.
func do(st chroot.Step) error {
	switch st.Op {
	case OpSethostname:
		return unix.Sethostname([]byte(st.Path))
	case OpCreate:
		fd, err := unix.Open(st.Path, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, st.Mode)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}
	return st.Do()
}

// tinyInit starts the command as a child and stays as PID 1: it forwards
// every signal it receives to the command, reaps every child that ends
// (orphans are re-parented to PID 1, and a PID 1 that never waits collects
// zombies), and exits with the command's code when the command ends.
func tinyInit(c *child, index int, exe chroot.Step, path string) {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs) // before the fork: no SIGCHLD can be missed
	pid, err := syscall.ForkExec(path, exe.Args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		c.fail(index, exe.String(), err, execCode(err))
	}
	c.report.Close() // EOF tells the parent the command runs
	os.Exit(Supervise(pid, sigs, 0))
}

// Supervise forwards the signals read from sigs to pid and reaps children
// until pid ends; it returns pid's exit code, as the shell computes it.
// With a grace period, a SIGTERM is followed by SIGKILL if pid is still
// alive after it. It is the heart of a tiny init (Docker's --init); the
// caller must have called signal.Notify(sigs) before starting pid, so no
// SIGCHLD is missed.
func Supervise(pid int, sigs <-chan os.Signal, grace time.Duration) int {
	var escalate <-chan time.Time
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-escalate:
			unix.Kill(pid, unix.SIGKILL)
			continue
		}
		if sig == unix.SIGTERM && grace > 0 && escalate == nil {
			escalate = time.After(grace)
		}
		switch sig {
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err != nil || wpid <= 0 {
					break
				}
				if wpid == pid {
					if ws.Signaled() {
						return 128 + int(ws.Signal())
					}
					return ws.ExitStatus()
				}
			}
		case unix.SIGURG:
			// The Go runtime's own preemption signal: not for the command.
		default:
			unix.Kill(pid, sig.(syscall.Signal))
		}
	}
}
