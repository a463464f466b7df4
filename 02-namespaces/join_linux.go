package namespaces

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// JoinSpec is a command to run inside a running process's namespaces.
type JoinSpec struct {
	Pid        int         `json:"pid"`        // the target, e.g. a Container's Pid
	Namespaces []Namespace `json:"namespaces"` // which of its namespaces to enter; user is refused
	Args       []string    `json:"args"`
	Env        []string    `json:"env"`
}

// joinGrace is how long a joined command has to end after the joiner
// forwards it SIGTERM before the joiner sends SIGKILL.
const joinGrace = 2 * time.Second

// joinOrder is the order the joiner enters namespaces: the mount namespace
// last, because entering it changes the root and the working directory.
var joinOrder = []Namespace{Cgroup, IPC, UTS, Network, PID, Mount}

// Join runs j.Args inside the namespaces of process j.Pid, as `docker exec`
// does, and waits for it. A re-executed child enters the namespaces with
// setns(2) and starts the command as its own child (entering a PID
// namespace only applies to the children of the caller).
func Join(ctx context.Context, j JoinSpec, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(j.Args) == 0 || j.Args[0] == "" {
		return fmt.Errorf("namespaces: join: no command given")
	}
	for _, n := range j.Namespaces {
		if n == User {
			return ErrJoinUser
		}
		if _, ok := nsInfo[n]; !ok {
			return fmt.Errorf("namespaces: join: unknown namespace %q", n)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns", j.Pid)); err != nil {
		return fmt.Errorf("namespaces: join: no process %d: %w", j.Pid, err)
	}
	// A target in another user namespace cannot be joined from Go (see
	// ErrJoinUser), and entering its other namespaces while staying in the
	// host's user namespace would give the command the host's root: refuse.
	target, err := Inodes(j.Pid)
	if err != nil {
		return err
	}
	self, err := Inodes(os.Getpid())
	if err != nil {
		return err
	}
	if target[User] != self[User] {
		return fmt.Errorf("namespaces: join: process %d is in a user namespace of its own: %w", j.Pid, ErrJoinUser)
	}
	config, err := json.Marshal(j)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{joinName}
	cmd.Env = []string{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	// Cancelling asks the joiner to end the command (SIGTERM, then SIGKILL
	// after joinGrace); only if the joiner itself hangs is it killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(unix.SIGTERM) }
	cmd.WaitDelay = 2 * joinGrace
	if err := startWithPipes(cmd, config, nil); err != nil {
		return err
	}
	return exitError(cmd.Wait())
}

// runJoin is the joiner: it enters the target's namespaces on this locked
// thread, then forks the command from it, so the command is born inside
// all of them, and waits for it.
func runJoin() {
	var j JoinSpec
	c := newChild(&j)
	setEnv(j.Env)
	want := map[Namespace]bool{}
	for _, n := range j.Namespaces {
		want[n] = true
	}
	// Open every namespace first: after entering the mount namespace,
	// /proc/PID may name something else.
	fds := map[Namespace]int{}
	for _, n := range joinOrder {
		if !want[n] {
			continue
		}
		path := fmt.Sprintf("/proc/%d/ns/%s", j.Pid, n.ProcFile())
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			c.fail(0, fmt.Sprintf("open(%q)", path), err, 125)
		}
		fds[n] = fd
	}
	// setns(CLONE_NEWNS) refuses a thread that shares its filesystem
	// attributes (root, cwd) with others, and every thread of a Go program
	// does: unshare them for this thread first.
	if want[Mount] {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			c.fail(0, "unshare(CLONE_FS)", err, 125)
		}
	}
	step := 0
	for _, n := range joinOrder {
		fd, ok := fds[n]
		if !ok {
			continue
		}
		step++
		if err := unix.Setns(fd, int(nsInfo[n].flag)); err != nil {
			c.fail(step, fmt.Sprintf("setns(/proc/%d/ns/%s, %s)", j.Pid, n.ProcFile(), nsInfo[n].name), err, 125)
		}
		unix.Close(fd)
	}
	path, err := lookPath(j.Args[0])
	if err != nil {
		c.fail(step+1, fmt.Sprintf("execve(%q)", j.Args[0]), err, execCode(err))
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	// ForkExec forks from this goroutine's thread, the one that entered
	// the namespaces: the child inherits them, the PID namespace included.
	// No Pdeathsig here: Go's fork checks that the parent is still alive by
	// comparing getppid() with its PID, and in another PID namespace
	// getppid() is 0, so the child would kill itself at once. Join's
	// cancellation goes through SIGTERM and joinGrace instead.
	pid, err := syscall.ForkExec(path, j.Args, &syscall.ProcAttr{Dir: "/", Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		c.fail(step+1, fmt.Sprintf("execve(%q)", path), err, execCode(err))
	}
	c.report.Close()
	os.Exit(Supervise(pid, sigs, joinGrace))
}
