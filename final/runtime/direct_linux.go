package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// directSupported says whether this kernel and this process allow a direct
// start (see directPlan): fsconfig(2) knows proc's "pidns" key (Linux
// 6.18), and ptrace is not forbidden (Yama's ptrace_scope 3). Asked once:
// three system calls, a small file, and Go's own check of pidfds.
var directSupported = sync.OnceValue(func() bool {
	// Go checks once per process whether pidfds work, by forking a child
	// that exits at once. From the thread of a direct start, in the new
	// PID namespace, that child would be PID 1, and its death would close
	// the namespace to the command (fork: ENOMEM). os.FindProcess has the
	// check made here, first.
	if self, err := os.FindProcess(os.Getpid()); err == nil {
		self.Release()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil && strings.TrimSpace(string(b)) == "3" {
		return false
	}
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fs)
	ns, err := unix.Open("/proc/self/ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(ns)
	// Only a parameter: no superblock is made until FSCONFIG_CMD_CREATE.
	return unix.FsconfigSetFd(fs, "pidns", ns) == nil
})

// DirectSupported says whether Start can start containers without a
// re-executed init on this host (see StartOptions.ReExec). A caller that
// would otherwise Spawn early, to prepare while the init starts, can
// prepare first and call Start instead.
func DirectSupported() bool { return directSupported() }

// notDirect sends Start back to the re-executed init, saying why: nothing
// of the caller's has been touched (but its ignored signals, now caught).
type notDirect struct{ why string }

func (e notDirect) Error() string { return "runtime: no direct start: " + e.why }

// startDirect starts the plan's command from a thread of this process
// (see directPlan), or returns a notDirect.
func startDirect(d directPlan, opts StartOptions) (*Process, error) {
	if !catchIgnoredSignals() {
		return nil, notDirect{fmt.Sprintf("signals %v are ignored, and cannot be caught", ignoredSignals())}
	}
	type result struct {
		p   *Process
		err error
	}
	res := make(chan result, 1)
	stopped := make(chan int)      // the thread: the command exists, stopped
	prestarted := make(chan error) // the caller: prestart's answer
	onThread(func() {
		var home []int // this thread's own namespaces
		defer func() {
			for _, fd := range home {
				unix.Close(fd)
			}
		}()
		p, err := d.run(opts, stopped, prestarted, &home)
		if err != nil {
			res <- result{nil, err}
			return
		}
		release, released := make(chan struct{}), make(chan struct{})
		p.release = func() { close(release); <-released }
		res <- result{p, nil}
		<-release
		// Back home before Wait returns: this thread holds the last
		// references to the container's namespaces, which go now, as an
		// init's go before wait4 reports its end, and the caller's
		// teardown finds them gone. Left to the thread's end, their
		// dismantling ran beside the removal of the container's files,
		// and slowed it by about as much as it costs here.
		for _, fd := range home {
			unix.Setns(fd, 0)
		}
		close(released)
	})
	for {
		select {
		case pid := <-stopped:
			var err error
			if opts.Prestart != nil {
				err = opts.Prestart(pid)
			}
			prestarted <- err
		case r := <-res:
			return r.p, r.err
		}
	}
}

// onThread runs f on a goroutine locked to a thread of its own, never
// unlocked: once the thread has left the caller's namespaces and root it
// must not run other goroutines, and the runtime ends a thread whose
// goroutine exits while locked. (The command's parent-death signal is
// tied to that thread: it stays until Process.Wait lets it go.)
//
// Not the main thread: /proc/self is the main thread's view, of mounts and
// namespaces among others, and the rest of the program reads it. A
// goroutine that finds itself locked there holds it while a second one
// locks another thread, which then runs f.
func onThread(f func()) {
	go func() {
		goruntime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f()
			return
		}
		locked := make(chan struct{})
		go func() {
			goruntime.LockOSThread()
			close(locked)
			f()
		}()
		<-locked
		goruntime.UnlockOSThread()
	}()
}

// run is the locked thread's part of a direct start.
func (d directPlan) run(opts StartOptions, stopped chan<- int, prestarted <-chan error, home *[]int) (*Process, error) {
	// The host's /proc, kept open: after pivot_root the thread sees only
	// the container's, which is not mounted yet.
	hostProc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, notDirect{"opening /proc: " + err.Error()}
	}
	defer unix.Close(hostProc)
	cgroupFD := -1
	if opts.CgroupDir != "" {
		if cgroupFD, err = unix.Open(opts.CgroupDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return nil, setupError("opening the cgroup", err)
		}
		defer unix.Close(cgroupFD)
	}
	for _, k := range nsKinds {
		if d.flags&k.flag == 0 || k.typ == specs.PIDNamespace {
			continue
		}
		fd, err := unix.Open("/proc/thread-self/ns/"+k.file, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, notDirect{"opening this thread's namespace: " + err.Error()}
		}
		*home = append(*home, fd)
	}
	if err := unix.Unshare(unix.CLONE_FS | int(d.flags)); err != nil {
		return nil, notDirect{fmt.Sprintf("unshare(CLONE_FS|%s): %v", cloneFlagNames(d.flags), err)}
	}
	for _, s := range d.thread {
		if err := do(s); err != nil {
			return nil, setupError(s.String(), err)
		}
	}
	path, err := lookPath(d.exe.Args[0], d.exe.Env)
	if err != nil {
		return nil, execFailure(d.exe, err)
	}
	groups := make([]uint32, len(d.groups))
	copy(groups, d.groups)
	cmd := &exec.Cmd{
		Path: path,
		Args: d.exe.Args,
		Env:  d.exe.Env,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     d.setsid,
			Credential: &syscall.Credential{Uid: d.uid, Gid: d.gid, Groups: groups},
			// Stop at execve, before the first instruction: the command
			// must not run before its cgroups, network and /proc.
			Ptrace:      true,
			Pdeathsig:   unix.SIGKILL,
			UseCgroupFD: cgroupFD >= 0,
			CgroupFD:    cgroupFD,
		},
	}
	// A nil *os.File in an io.Reader would not be nil: set only real files.
	if opts.Stdio.Stdin != nil {
		cmd.Stdin = opts.Stdio.Stdin
	}
	if opts.Stdio.Stdout != nil {
		cmd.Stdout = opts.Stdio.Stdout
	}
	if opts.Stdio.Stderr != nil {
		cmd.Stderr = opts.Stdio.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, execFailure(d.exe, err)
	}
	pid := cmd.Process.Pid
	fail := func(step string, err error) (*Process, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, setupError(step, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return fail("waiting for the command to stop at execve", err)
	}
	if !ws.Stopped() {
		return fail("waiting for the command to stop at execve", fmt.Errorf("it did not stop (wait status %#x)", uint32(ws)))
	}
	stopped <- pid
	if err := <-prestarted; err != nil {
		return fail("prestart", err)
	}
	if err := mountProc(d.procMount, hostProc, pid); err != nil {
		return fail(d.procMount.String(), err)
	}
	for _, s := range d.after {
		if err := do(s); err != nil {
			return fail(s.String(), err)
		}
	}
	for _, s := range d.child {
		if err := doOnChild(s, hostProc, pid); err != nil {
			return fail(s.String(), err)
		}
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fail("ptrace(PTRACE_DETACH)", err)
	}
	return &Process{cmd: cmd, Pid: pid}, nil
}

// ignoredCaught receives the signals this process ignored until a direct
// start; nothing reads it, and a full channel drops what comes.
var ignoredCaught = make(chan os.Signal, 1)

// catchIgnoredSignals has the signals this process ignores caught instead,
// and dropped: for this process, the same as ignoring them. An ignored
// signal stays ignored across fork and execve, and a command must not
// inherit that from whoever started berth (a shell's background job
// ignores SIGINT and SIGQUIT, nohup SIGHUP, sudo signal 32); a caught one
// is reset to its default by execve. Go cannot catch signals 32 and 33,
// which the C library keeps for its threads: nothing in this program uses
// them, so an ignored one goes back to its default. It says whether none
// is left ignored.
func catchIgnoredSignals() bool {
	ignored := ignoredSignals()
	if len(ignored) == 0 {
		return true
	}
	for _, n := range ignored {
		if n == 32 || n == 33 {
			var dfl [4]uint64 // see ignoredSignals
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
			continue
		}
		signal.Notify(ignoredCaught, syscall.Signal(n))
	}
	return len(ignoredSignals()) == 0
}

// execFailure is a command that could not be started, with Docker's exit
// code: 127 when it is not found, 126 when it cannot be invoked.
func execFailure(exe Step, err error) *StartError {
	err = execError(exe.Args[0], err)
	se := &StartError{Step: exe.String(), Msg: err.Error(), ExitCode: execCode(err), err: err}
	errors.As(err, &se.Errno)
	return se
}

// mountProc mounts a proc filesystem for the command's PID namespace at
// the step's path inside the new root: with mount(2) a proc shows the PID
// namespace of whoever mounts it, and this thread is not in the new one;
// fsconfig's "pidns" names it from outside.
func mountProc(s Step, hostProc, pid int) error {
	ns, err := unix.Openat(hostProc, strconv.Itoa(pid)+"/ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the command's PID namespace: %w", err)
	}
	defer unix.Close(ns)
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetFd(fs, "pidns", ns); err != nil {
		return fmt.Errorf("fsconfig pidns: %w", err)
	}
	// What mountinfo shows as its source, as mount(2) would have.
	if err := unix.FsconfigSetString(fs, "source", s.Source); err != nil {
		return fmt.Errorf("fsconfig source: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	var attrs int
	for _, f := range []struct {
		ms   uintptr
		attr int
	}{{msRdonly, unix.MOUNT_ATTR_RDONLY}, {msNosuid, unix.MOUNT_ATTR_NOSUID}, {msNodev, unix.MOUNT_ATTR_NODEV}, {msNoexec, unix.MOUNT_ATTR_NOEXEC}} {
		if s.Flags&f.ms != 0 {
			attrs |= f.attr
		}
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mnt)
	// The step's path was inside the root; the root is now "/".
	target, err := secureJoin("/", s.Path)
	if err != nil {
		return err
	}
	return unix.MoveMount(mnt, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// doOnChild makes a step that acts on a whole process on the command
// rather than on this one.
func doOnChild(s Step, hostProc, pid int) error {
	switch s.Op {
	case OpSetrlimit:
		return unix.Prlimit(pid, rlimits[s.Path], &unix.Rlimit{Cur: s.Soft, Max: s.Hard}, nil)
	case OpOOMScoreAdj:
		fd, err := unix.Openat(hostProc, strconv.Itoa(pid)+"/oom_score_adj", unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		_, err = unix.Write(fd, []byte(s.Data))
		return err
	}
	return fmt.Errorf("unknown step %q for the command", s.Op)
}
