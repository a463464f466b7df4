package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execConfig is what Exec sends the re-executed process.
type execConfig struct {
	Process *specs.Process `json:"process"`
	// JoinMount says fd 5 is the container's mount namespace, to enter.
	JoinMount bool `json:"join_mount"`
}

// joinOrder is the order the calling thread enters the container's
// namespaces in before it forks. The mount namespace is not among them:
// the child must start on the host's filesystem, where this program and
// its dynamic loader are, and enters it itself.
var joinOrder = []specs.LinuxNamespaceType{
	specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace,
}

// Exec runs proc inside the running container whose init has host PID
// pid, as `runc exec` does. The new process enters every namespace of the
// init that differs from the caller's (a container sharing the host's
// network has no network namespace to enter), then the mount namespace,
// and becomes proc: user, capabilities, no_new_privs, environment, working
// directory, terminal; then execve. It is a direct child of the caller:
// Wait and Signal act on the command itself. Errors and exit codes are
// Start's.
//
// setns(CLONE_NEWPID) only applies to the caller's future children, so the
// namespaces are entered by a goroutine locked to an OS thread that forks
// the child, then goes back to its own namespaces before it is released:
// nothing else in this program ever runs in the container's namespaces.
func Exec(pid int, proc *specs.Process, opts ExecOptions) (*Process, error) {
	if _, err := processSteps(proc); err != nil {
		return nil, setupError("checking the process", err)
	}
	if pid <= 0 {
		return nil, setupError("finding the container", fmt.Errorf("invalid PID %d", pid))
	}
	joins, mnt, err := openNamespaces(pid)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, j := range joins {
			j.file.Close()
		}
		if mnt != nil {
			mnt.Close()
		}
	}()
	config, err := json.Marshal(execConfig{Process: proc, JoinMount: mnt != nil})
	if err != nil {
		return nil, setupError("encoding the process", err)
	}
	cmd := newChildCmd(execName, opts.Stdio)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if opts.CgroupDir != "" {
		dir, err := os.Open(opts.CgroupDir)
		if err != nil {
			return nil, setupError("opening the cgroup", err)
		}
		defer dir.Close()
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	}
	var extra []*os.File
	if mnt != nil {
		// ExtraFiles after the two pipes: fd 5 in the child.
		extra = []*os.File{mnt}
	}
	start := func() error {
		done := make(chan error, 1)
		go func() { done <- startInNamespaces(cmd, joins) }()
		return <-done
	}
	configW, reportR, err := startChild(cmd, extra, start)
	if err != nil {
		return nil, err
	}
	if err := finishChild(cmd, configW, reportR, config, opts.Prestart); err != nil {
		return nil, err
	}
	return &Process{Pid: cmd.Process.Pid, cmd: cmd}, nil
}

// startInNamespaces starts cmd from a thread that has entered the joins'
// namespaces, so that the child is born inside them (setns(CLONE_NEWPID)
// only applies to children), then brings the thread back into its own
// namespaces and returns it to the Go scheduler. Run it on a goroutine of
// its own: it locks it to its thread.
//
// Returning the thread matters: a thread that ends (as a locked
// goroutine's thread does when the goroutine returns) fires the
// parent-death signal of every process it started, such as a container
// init that Start forked from it. If the thread cannot be brought back, it
// is left to end all the same: it must never run other goroutines inside a
// container's namespaces.
func startInNamespaces(cmd *exec.Cmd, joins []nsJoin) error {
	goruntime.LockOSThread()
	var own []nsJoin
	restored := true
	defer func() {
		for _, o := range own {
			if restored {
				if err := unix.Setns(int(o.file.Fd()), int(o.flag)); err != nil {
					restored = false
				}
			}
			o.file.Close()
		}
		if restored {
			goruntime.UnlockOSThread()
		}
	}()
	for _, j := range joins {
		k := nsKindOfFlag(j.flag)
		f, err := os.Open("/proc/thread-self/ns/" + k.file)
		if err != nil {
			return fmt.Errorf("opening this thread's %s namespace: %w", k.typ, err)
		}
		own = append([]nsJoin{{file: f, flag: j.flag}}, own...) // restored in reverse
		if err := unix.Setns(int(j.file.Fd()), int(j.flag)); err != nil {
			return fmt.Errorf("setns(%s, %s): %w", j.file.Name(), cloneFlagNames(j.flag), err)
		}
	}
	// Forked from this thread: the child is born in the namespaces, the
	// PID namespace included.
	return cmd.Start()
}

// nsJoin is a namespace to enter: its file, open, and its clone flag.
type nsJoin struct {
	file *os.File
	flag uintptr
}

// openNamespaces opens the namespaces of process pid that differ from this
// process's: those the calling thread enters (in joinOrder) and the mount
// namespace (nil if it is this process's own).
func openNamespaces(pid int) (joins []nsJoin, mnt *os.File, retErr error) {
	defer func() {
		if retErr != nil {
			for _, j := range joins {
				j.file.Close()
			}
			if mnt != nil {
				mnt.Close()
			}
		}
	}()
	differs := func(typ specs.LinuxNamespaceType) (*os.File, error) {
		k := nsKind(typ)
		name := fmt.Sprintf("/proc/%d/ns/%s", pid, k.file)
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			return nil, setupError("finding the container", fmt.Errorf("no process %d: is the container running? %w", pid, err))
		}
		if err != nil {
			return nil, setupError("opening "+name, err)
		}
		var theirs, ours unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &theirs); err != nil {
			f.Close()
			return nil, setupError("stat "+name, err)
		}
		if err := unix.Stat("/proc/self/ns/"+k.file, &ours); err != nil {
			f.Close()
			return nil, setupError("stat /proc/self/ns/"+k.file, err)
		}
		if theirs.Dev == ours.Dev && theirs.Ino == ours.Ino {
			f.Close()
			return nil, nil
		}
		return f, nil
	}
	if f, err := differs(specs.UserNamespace); err != nil {
		return nil, nil, err
	} else if f != nil {
		f.Close()
		return nil, nil, setupError("joining the container", fmt.Errorf("process %d is in a user namespace of its own: not supported by berth's runtime", pid))
	}
	for _, typ := range joinOrder {
		f, err := differs(typ)
		if err != nil {
			return joins, nil, err
		}
		if f != nil {
			joins = append(joins, nsJoin{file: f, flag: nsKind(typ).flag})
		}
	}
	mnt, err := differs(specs.MountNamespace)
	if err != nil {
		return joins, nil, err
	}
	return joins, mnt, nil
}

// runExec is the process Exec started: already in the container's
// namespaces but the mount one, which it enters now; then it becomes the
// command.
func runExec() {
	var cfg execConfig
	c := newChild(&cfg)
	if cfg.Process == nil {
		c.fail("reading the configuration", errors.New("no process"), ExitSetupFailed)
	}
	if cfg.JoinMount {
		// setns(CLONE_NEWNS) refuses a thread that shares its root and
		// working directory with others, as every thread of a Go program
		// does: unshare them for this (locked) thread first.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			c.fail("unshare(CLONE_FS)", err, ExitSetupFailed)
		}
		if err := unix.Setns(mntnsFD, unix.CLONE_NEWNS); err != nil {
			c.fail("setns(mnt, CLONE_NEWNS)", err, ExitSetupFailed)
		}
		unix.Close(mntnsFD)
	}
	steps, err := processSteps(cfg.Process)
	if err != nil {
		c.fail("planning", err, ExitSetupFailed)
	}
	last := len(steps) - 1
	for _, s := range steps[:last] {
		if err := do(s); err != nil {
			c.fail(s.String(), err, ExitSetupFailed)
		}
	}
	c.exec(steps[last])
}
