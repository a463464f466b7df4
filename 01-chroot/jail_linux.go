package chroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// initName is argv[0] of the re-executed init process; Init recognises it.
const initName = "berth-chroot-init"

// Run carries out j: it starts a copy of this program as the jail's init
// (which follows j's plan and then becomes the command) and waits for the
// command to end. A failed plan step comes back as a *StepError; a command
// that exits non-zero as an *exec.ExitError, wrapped.
//
// The program must call Init first thing in main (tests: in TestMain).
func Run(ctx context.Context, j Jail, stdin io.Reader, stdout, stderr io.Writer) error {
	plan, err := j.Plan()
	if err != nil {
		return err
	}
	if fi, err := os.Stat(j.Rootfs); err != nil {
		return fmt.Errorf("chroot: rootfs: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("chroot: rootfs %s is not a directory", j.Rootfs)
	}

	// The init process reports a failed step on this pipe. It is
	// close-on-exec in the child, so a successful execve closes it with
	// nothing written: EOF means the command is running.
	errR, errW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("chroot: error pipe: %w", err)
	}
	defer errR.Close()

	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	// The plan travels in argv: simple and visible in ps. Chapter 02
	// replaces this with a configuration sent over a pipe.
	cmd.Args = append([]string{initName, string(j.Mode), j.Rootfs, "--"}, j.Args...)
	cmd.Env = commandEnv(j.Env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.ExtraFiles = []*os.File{errW} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if plan.NewMountNamespace {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWNS
	}
	if err := cmd.Start(); err != nil {
		errW.Close()
		return fmt.Errorf("chroot: starting init: %w", err)
	}
	errW.Close() // the child holds its own copy

	msg, _ := io.ReadAll(errR)
	waitErr := cmd.Wait()
	if len(msg) > 0 {
		var se StepError
		if err := json.Unmarshal(msg, &se); err != nil {
			return fmt.Errorf("chroot: init failed and sent an unreadable report %q: %w", msg, err)
		}
		se.ExitCode = cmd.ProcessState.ExitCode()
		return &se
	}
	if waitErr != nil {
		return fmt.Errorf("chroot: %s: %w", j.Args[0], waitErr)
	}
	return nil
}

// commandEnv gives the command a PATH when the caller set none: the host's
// PATH may name directories the rootfs does not have.
func commandEnv(env []string) []string {
	for _, kv := range env {
		if len(kv) >= 5 && kv[:5] == "PATH=" {
			return env
		}
	}
	return append([]string{"PATH=" + DefaultPath}, env...)
}

// Init turns this process into a jail's init when it was started as one by
// Run; otherwise it returns at once. Call it before anything else in main.
// As an init it never returns: it either becomes the command or exits.
func Init() {
	if len(os.Args) < 4 || os.Args[0] != initName || os.Args[3] != "--" {
		return
	}
	// One OS thread for the whole setup, so every system call below is made
	// by the same kernel task.
	runtime.LockOSThread()
	report := os.NewFile(3, "init-error-pipe")
	unix.CloseOnExec(3)

	j := Jail{Mode: Mode(os.Args[1]), Rootfs: os.Args[2], Args: os.Args[4:], Env: os.Environ()}
	plan, err := j.Plan()
	if err != nil {
		fail(report, &StepError{Msg: err.Error()}, 125)
	}
	for i, s := range plan.Steps {
		if err := s.Do(); err != nil {
			se := &StepError{Index: i + 1, Call: s.String(), Msg: err.Error()}
			errors.As(err, &se.Errno)
			code := 125 // like Docker: the engine, not the command, failed
			if s.Op == OpExec {
				code = 126 // found but cannot be run
				if errors.Is(err, unix.ENOENT) || errors.Is(err, exec.ErrNotFound) {
					code = 127
				}
			}
			fail(report, se, code)
		}
	}
}

func fail(report *os.File, se *StepError, code int) {
	json.NewEncoder(report).Encode(se)
	os.Exit(code)
}

// Do makes the step's system call. Later chapters build longer plans out
// of the same steps and carry them out with Do.
func (s Step) Do() error {
	switch s.Op {
	case OpChdir:
		return unix.Chdir(s.Path)
	case OpChroot:
		return unix.Chroot(s.Path)
	case OpMount:
		return unix.Mount(s.Source, s.Path, s.FSType, s.Flags, s.Data)
	case OpMkdir:
		if err := unix.Mkdir(s.Path, s.Mode); err != nil && err != unix.EEXIST {
			return err
		}
		return nil
	case OpMknod:
		if err := unix.Mknod(s.Path, unix.S_IFCHR|s.Mode, int(unix.Mkdev(s.Major, s.Minor))); err != nil {
			return err
		}
		return unix.Chmod(s.Path, s.Mode) // mknod's mode is filtered by the umask
	case OpSymlink:
		return unix.Symlink(s.Source, s.Path)
	case OpPivotRoot:
		return unix.PivotRoot(s.Path, s.Source)
	case OpUnmount:
		return unix.Unmount(s.Path, int(s.Flags))
	case OpRmdir:
		return unix.Rmdir(s.Path)
	case OpExec:
		// The lookup happens now, after the root changed, so PATH is
		// searched inside the rootfs.
		path, err := exec.LookPath(s.Args[0])
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%s: not executable (check its mode): %w", s.Args[0], err)
		} else if err != nil {
			return fmt.Errorf("%s: command not found in the rootfs: %w", s.Args[0], err)
		}
		return unix.Exec(path, s.Args, os.Environ())
	}
	return fmt.Errorf("unknown step %q", s.Op)
}
