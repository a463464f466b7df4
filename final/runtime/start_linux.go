package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// argv[0] of the re-executed children; Init recognises them.
const (
	initName = "berth-runtime-init"
	execName = "berth-runtime-exec"
)

// The child's inherited descriptors, after stdin, stdout and stderr.
const (
	configFD = 3 // the parent writes the child's configuration here, then closes it
	reportFD = 4 // the child writes a *StartError here; close-on-exec, so execve closes it
	mntnsFD  = 5 // Exec only: the container's mount namespace
)

// Start creates the container spec describes and starts spec.Process in it.
// It returns once the command has been execve'd, or with a *StartError
// (exit code 125, 126 or 127). The program must call Init first thing in
// main. The init is killed with SIGKILL if the calling thread dies.
func Start(spec *specs.Spec, opts StartOptions) (*Process, error) {
	if spec != nil && spec.Root != nil && spec.Root.Path != "" && !filepath.IsAbs(spec.Root.Path) {
		// runc resolves a relative root against the bundle, its working
		// directory: so do we, on a copy.
		abs, err := filepath.Abs(spec.Root.Path)
		if err != nil {
			return nil, setupError("resolving root.path", err)
		}
		cp := *spec
		root := *spec.Root
		root.Path = abs
		cp.Root = &root
		spec = &cp
	}
	plan, err := Plan(spec)
	if err != nil {
		return nil, setupError("checking the spec", err)
	}
	if fi, err := os.Stat(plan.Root); err != nil {
		return nil, setupError("checking the root filesystem", err)
	} else if !fi.IsDir() {
		return nil, setupError("checking the root filesystem", fmt.Errorf("%s is not a directory", plan.Root))
	}
	config, err := json.Marshal(spec)
	if err != nil {
		return nil, setupError("encoding the spec", err)
	}

	cmd := newChildCmd(initName, opts.Stdio)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: plan.CloneFlags,
		// If the thread that started the container dies, so does the
		// container: nothing is left orphaned.
		Pdeathsig: unix.SIGKILL,
	}
	if opts.CgroupDir != "" {
		dir, err := os.Open(opts.CgroupDir)
		if err != nil {
			return nil, setupError("opening the cgroup", err)
		}
		defer dir.Close()
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	}
	p := &Process{cmd: cmd}
	if err := startChild(cmd, config, nil, opts.Prestart, func() error { return cmd.Start() }); err != nil {
		return nil, err
	}
	p.Pid = cmd.Process.Pid
	return p, nil
}

// newChildCmd prepares a re-execution of this program as name, with the
// caller's stdio (nil files become /dev/null).
func newChildCmd(name string, stdio Stdio) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{name}
	// The command's environment travels in the config; the child's own is
	// only for the Go runtime: one P is all a sequential setup needs, and
	// skipping the cgroup-aware GOMAXPROCS saves reading /proc files (the
	// re-executed runtime's start-up is most of what Start costs).
	cmd.Env = []string{"GOMAXPROCS=1", "GODEBUG=containermaxprocs=0,updatemaxprocs=0"}
	// A nil *os.File in an io.Reader would not be nil: set only real files.
	if stdio.Stdin != nil {
		cmd.Stdin = stdio.Stdin
	}
	if stdio.Stdout != nil {
		cmd.Stdout = stdio.Stdout
	}
	if stdio.Stderr != nil {
		cmd.Stderr = stdio.Stderr
	}
	return cmd
}

// startChild starts cmd (through start, which may run it on a special
// thread) with the configuration pipe on fd 3, the report pipe on fd 4 and
// extra files after them; calls prestart while the child waits for its
// configuration; sends config; and waits until the child either reports a
// failure or execs (EOF on the report pipe).
func startChild(cmd *exec.Cmd, config []byte, extra []*os.File, prestart func(int) error, start func() error) (retErr error) {
	configR, configW, err := os.Pipe()
	if err != nil {
		return setupError("creating the config pipe", err)
	}
	defer configW.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		configR.Close()
		return setupError("creating the report pipe", err)
	}
	defer reportR.Close()
	cmd.ExtraFiles = append([]*os.File{configR, reportW}, extra...)
	err = start()
	configR.Close() // the child holds its own copies
	reportW.Close()
	if err != nil {
		return setupError("re-executing this program", fmt.Errorf("%w (creating and entering namespaces needs root)", err))
	}
	defer func() {
		if retErr != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	if prestart != nil {
		if err := prestart(cmd.Process.Pid); err != nil {
			return setupError("prestart", err)
		}
	}
	// The child reads until EOF: close our end once it is written.
	if _, err := configW.Write(config); err != nil {
		return setupError("sending the configuration", err)
	}
	configW.Close()
	msg, err := io.ReadAll(reportR)
	if err != nil {
		return setupError("reading the child's report", err)
	}
	if len(msg) == 0 {
		return nil // closed by execve: the command runs
	}
	var se StartError
	if err := json.Unmarshal(msg, &se); err != nil {
		return setupError("reading the child's report", fmt.Errorf("unreadable report %q: %w", msg, err))
	}
	// The child exits right after reporting; its code is the report's.
	return &se
}

// Wait waits for the process to end and returns how it ended. Only the
// process that started it may wait; later calls return the same result.
func (p *Process) Wait() (ExitStatus, error) {
	p.waitOnce.Do(func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.waitErr = fmt.Errorf("runtime: waiting for process %d: %w", p.Pid, err)
			return
		}
		ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok {
			p.waitErr = fmt.Errorf("runtime: process %d: no wait status", p.Pid)
			return
		}
		p.status = exitStatus(ws)
	})
	return p.status, p.waitErr
}

func exitStatus(ws syscall.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: unix.Signal(ws.Signal())}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// Signal sends sig to the process. A container's init without the tiny
// init is PID 1 of its namespace: the kernel drops every signal it has no
// handler for, except SIGKILL (and SIGSTOP).
func (p *Process) Signal(sig unix.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("runtime: signalling process %d with %s: %w", p.Pid, signalName(sig), err)
	}
	return nil
}
