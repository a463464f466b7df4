package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// init locks the main thread when this process is one of the re-executed
// children, before main runs: package initialisation runs on the main
// thread, and every namespace, mount and credential call of the setup must
// come from one kernel task, the one that finally calls execve. Init keeps
// it locked.
func init() {
	if len(os.Args) > 0 && (os.Args[0] == initName || os.Args[0] == execName) {
		goruntime.LockOSThread()
	}
}

// Init turns this process into a container's init or an exec'd process
// when Start or Exec re-executed it as one; otherwise it returns at once.
// Call it first thing in main (tests: in TestMain). As a child it never
// returns: it becomes the command, or exits.
func Init() {
	if len(os.Args) != 1 {
		return
	}
	switch os.Args[0] {
	case initName:
		runInit()
	case execName:
		runExec()
	}
}

// child is a re-executed child's link to its parent.
type child struct {
	report *os.File
}

// newChild takes over the inherited pipes and decodes the configuration
// the parent sends into config.
func newChild(config any) *child {
	unix.CloseOnExec(reportFD)
	c := &child{report: os.NewFile(reportFD, "report")}
	in := os.NewFile(configFD, "config")
	b, err := io.ReadAll(in)
	in.Close()
	if err == nil {
		err = json.Unmarshal(b, config)
	}
	if err != nil {
		c.fail("reading the configuration from the parent", err, ExitSetupFailed)
	}
	return c
}

// fail reports a failure to the parent and exits with code.
func (c *child) fail(step string, err error, code int) {
	se := &StartError{Step: step, Msg: err.Error(), ExitCode: code}
	errors.As(err, &se.Errno)
	json.NewEncoder(c.report).Encode(se)
	os.Exit(code)
}

// initConfig is what the parent sends a container's init: the plan it
// made of the spec, not the spec itself. Decoding JSON into a type for the
// first time builds a decoder for every type it holds, and the spec's tree
// of types (for every OS and hypervisor) took the init milliseconds; the
// plan is a list of one small type. The parent has checked the spec.
type initConfig struct {
	Plan     InitPlan
	Terminal bool // the process has a terminal (the tiny init needs to know)
}

// runInit is a container's init: clone has put it in its new namespaces.
// It follows the plan and becomes the command (or its tiny init).
func runInit() {
	var cfg initConfig
	c := newChild(&cfg)
	plan := cfg.Plan
	if len(plan.Steps) == 0 {
		c.fail("reading the configuration from the parent", errors.New("the plan has no steps"), ExitSetupFailed)
	}
	credsOnAllThreads = plan.TinyInit
	last := len(plan.Steps) - 1
	for _, s := range plan.Steps[:last] {
		if err := do(s); err != nil {
			c.fail(s.String(), err, ExitSetupFailed)
		}
	}
	exe := plan.Steps[last]
	// The parent-death signal set at clone is cleared by a change of user,
	// and lives on the thread that set it: set it again on this thread,
	// the one that execs (or stays, as the tiny init).
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if plan.TinyInit {
		tinyInit(c, exe, cfg.Terminal)
	}
	c.exec(exe)
}

// exec makes the final execve, or reports why it could not with Docker's
// exit code.
func (c *child) exec(exe Step) {
	path, err := lookPath(exe.Args[0], exe.Env)
	if err == nil {
		resetIgnoredSignals()
		err = unix.Exec(path, exe.Args, exe.Env)
		err = execError(exe.Args[0], err)
	}
	c.fail(exe.String(), err, execCode(err))
}

// resetIgnoredSignals gives the command the default action for every
// signal: an ignored signal stays ignored across execve, so a caller
// started with a signal ignored (nohup ignores SIGHUP, a daemon SIGPIPE,
// some shells the real-time signals) would otherwise pass that on to the
// container. os/signal cannot reach every signal (Go keeps 32 and 33 for
// itself), so this asks the kernel directly, just before execve: every
// signal whose action is SIG_IGN goes back to SIG_DFL.
func resetIgnoredSignals() {
	var dfl [4]uint64 // see ignoredSignals: all zeroes is SIG_DFL
	for _, n := range ignoredSignals() {
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}

// ignoredSignals lists the signals this process ignores (SIG_IGN).
func ignoredSignals() []int {
	// The kernel's struct sigaction starts with the handler on every
	// architecture; all zeroes is SIG_DFL with no flags and no mask.
	var ignored []int
	var old [4]uint64
	for n := 1; n <= sigRTMax; n++ {
		if n == int(unix.SIGKILL) || n == int(unix.SIGSTOP) {
			continue
		}
		old = [4]uint64{}
		_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		if errno == 0 && old[0] == 1 { // SIG_IGN
			ignored = append(ignored, n)
		}
	}
	return ignored
}

// execCode is Docker's exit code for a command that could not be started:
// 127 when it does not exist, 126 when it cannot be invoked.
func execCode(err error) int {
	if errors.Is(err, unix.ENOENT) {
		return ExitNotFound
	}
	return ExitCannotRun
}

// execError explains a failed execve.
func execError(name string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: no such file, or its interpreter (#! line or ELF loader) is missing from the image: %w", name, err)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: permission denied (not executable, or on a noexec mount): %w", name, err)
	case errors.Is(err, unix.ENOEXEC):
		return fmt.Errorf("%s: exec format error (not a program for this machine, or a script without #!): %w", name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lookPath finds the command the way a shell does, in the PATH of the
// command's environment, inside the (new) root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "." // an empty PATH entry is the working directory
		}
		p := dir + "/" + name
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, unix.ENOENT) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH (%s): %w", name, pathEnv, unix.ENOENT)
}

// checkExecutable says why path cannot be executed, if it cannot.
func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("%s: no such file or directory: %w", path, unix.ENOENT)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%s: is a directory: %w", path, unix.EISDIR)
	}
	if err := unix.Access(path, unix.X_OK); err != nil || st.Mode&0o111 == 0 {
		return fmt.Errorf("%s: permission denied (not executable: check its mode): %w", path, unix.EACCES)
	}
	return nil
}
