package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
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
// main. The init is killed with SIGKILL if the calling thread dies (or,
// started directly, if the thread Start started it from does, which lasts
// until Wait). A direct start has the signals this process ignores caught
// and dropped instead, for good, so that the command does not inherit
// them ignored.
func Start(spec *specs.Spec, opts StartOptions) (*Process, error) {
	spec, plan, err := checkSpec(spec)
	if err != nil {
		return nil, err
	}
	if !opts.ReExec {
		why := "the kernel has no pidns key for proc (Linux 6.18), or ptrace is forbidden"
		if directSupported() {
			var d directPlan
			if d, why = planDirect(plan); why == "" {
				p, err := startDirect(d, opts)
				var nd notDirect
				if !errors.As(err, &nd) {
					lastReExec.Store(new(string))
					return p, err
				}
				why = nd.why
			}
		}
		lastReExec.Store(&why)
	}
	p, err := spawn(plan.CloneFlags, opts)
	if err != nil {
		return nil, err
	}
	return p.start(spec, plan)
}

// lastReExec is why the last Start went through the init when it could
// have started directly ("" if it did start directly), for the tests (see
// export_linux_test.go).
var lastReExec atomic.Pointer[string]

// Spawn starts a container's init before its spec is known, in new
// namespaces of the kinds given (those without a path: the ones clone
// makes), and leaves it waiting for Pending.Start. A re-executed Go program
// takes a while to reach main; spawning it first lets the caller prepare
// the root filesystem, cgroups and spec meanwhile. The init is killed with
// SIGKILL if the calling thread dies, or if Pending.Abort is called.
func Spawn(namespaces []specs.LinuxNamespace, opts StartOptions) (*Pending, error) {
	var flags uintptr
	for _, ns := range namespaces {
		if ns.Path == "" {
			flags |= nsKind(ns.Type).flag
		}
	}
	return spawn(flags, opts)
}

// Pending is an init started by Spawn, waiting for its spec.
type Pending struct {
	cmd      *exec.Cmd
	flags    uintptr
	prestart func(int) error
	configW  *os.File // the init reads its spec from here
	reportR  *os.File // and reports a failure here, or execve closes it
}

// Pid is the pending init's PID on the host.
func (p *Pending) Pid() int { return p.cmd.Process.Pid }

func spawn(flags uintptr, opts StartOptions) (*Pending, error) {
	cmd := newChildCmd(initName, opts.Stdio)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
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
	p := &Pending{cmd: cmd, flags: flags, prestart: opts.Prestart}
	var err error
	if p.configW, p.reportR, err = startChild(cmd, nil, func() error { return cmd.Start() }); err != nil {
		return nil, err
	}
	return p, nil
}

// Start gives the pending init its spec: it runs the prestart hook, sends
// the spec, and returns once the command has been execve'd, or with a
// *StartError. The spec's new namespaces must be the ones it was spawned
// with. On failure the init is killed and reaped.
func (p *Pending) Start(spec *specs.Spec) (*Process, error) {
	spec, plan, err := checkSpec(spec)
	if err != nil {
		p.Abort()
		return nil, err
	}
	if plan.CloneFlags != p.flags {
		p.Abort()
		return nil, setupError("checking the spec", fmt.Errorf("its namespaces (%s) are not the ones the init was spawned in (%s)",
			cloneFlagNames(plan.CloneFlags), cloneFlagNames(p.flags)))
	}
	return p.start(spec, plan)
}

// Abort kills and reaps a pending init that will not be started.
func (p *Pending) Abort() {
	p.configW.Close()
	p.reportR.Close()
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

func (p *Pending) start(spec *specs.Spec, plan InitPlan) (*Process, error) {
	config, err := json.Marshal(initConfig{Plan: plan, Terminal: spec.Process.Terminal})
	if err != nil {
		p.Abort()
		return nil, setupError("encoding the plan", err)
	}
	if err := finishChild(p.cmd, p.configW, p.reportR, config, p.prestart); err != nil {
		return nil, err
	}
	return &Process{cmd: p.cmd, Pid: p.cmd.Process.Pid}, nil
}

// checkSpec resolves a relative root (as runc does, against the working
// directory, on a copy), plans the spec and checks its root filesystem.
func checkSpec(spec *specs.Spec) (*specs.Spec, InitPlan, error) {
	if spec != nil && spec.Root != nil && spec.Root.Path != "" && !filepath.IsAbs(spec.Root.Path) {
		abs, err := filepath.Abs(spec.Root.Path)
		if err != nil {
			return nil, InitPlan{}, setupError("resolving root.path", err)
		}
		cp := *spec
		root := *spec.Root
		root.Path = abs
		cp.Root = &root
		spec = &cp
	}
	plan, err := Plan(spec)
	if err != nil {
		return nil, plan, setupError("checking the spec", err)
	}
	if fi, err := os.Stat(plan.Root); err != nil {
		return nil, plan, setupError("checking the root filesystem", err)
	} else if !fi.IsDir() {
		return nil, plan, setupError("checking the root filesystem", fmt.Errorf("%s is not a directory", plan.Root))
	}
	return spec, plan, nil
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
// extra files after them, and returns the parent's ends of both pipes. The
// child waits for its configuration: see finishChild.
func startChild(cmd *exec.Cmd, extra []*os.File, start func() error) (configW, reportR *os.File, retErr error) {
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, nil, setupError("creating the config pipe", err)
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		configR.Close()
		configW.Close()
		return nil, nil, setupError("creating the report pipe", err)
	}
	cmd.ExtraFiles = append([]*os.File{configR, reportW}, extra...)
	err = start()
	configR.Close() // the child holds its own copies
	reportW.Close()
	if err != nil {
		configW.Close()
		reportR.Close()
		return nil, nil, setupError("re-executing this program", fmt.Errorf("%w (creating and entering namespaces needs root)", err))
	}
	return configW, reportR, nil
}

// finishChild calls prestart while the child started by startChild waits
// for its configuration, sends config, and waits until the child either
// reports a failure or execs (EOF on the report pipe). On failure the child
// is killed and reaped.
func finishChild(cmd *exec.Cmd, configW, reportR *os.File, config []byte, prestart func(int) error) (retErr error) {
	defer configW.Close()
	defer reportR.Close()
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
		if p.release != nil {
			p.release()
		}
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
