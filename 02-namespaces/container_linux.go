package namespaces

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
)

// initName and joinName are argv[0] of the re-executed child; Init
// recognises them.
const (
	initName = "berth-ns-init"
	joinName = "berth-ns-join"
)

// The child's inherited descriptors (after stdin, stdout and stderr).
const (
	configFD = 3 // the parent writes the child's configuration here
	reportFD = 4 // the child writes a failed step here; close-on-exec
)

// Container is a running container's init process, seen from the host.
type Container struct {
	Pid  int // the init's PID on the host
	cmd  *exec.Cmd
	wait chan struct{}
	err  error
}

// Start creates the namespaces s asks for and starts s.Args in them, with
// the given standard streams (nil means /dev/null). It returns once the
// command runs: a failure of the init before that comes back as a
// *chroot.StepError. The program must call Init first thing in main.
func Start(s Spec, stdin io.Reader, stdout, stderr io.Writer) (*Container, error) {
	plan, err := s.Plan()
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(s.Rootfs); err != nil {
		return nil, fmt.Errorf("namespaces: rootfs: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("namespaces: rootfs %s is not a directory", s.Rootfs)
	}
	config, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{initName}
	cmd.Env = []string{} // the command's environment travels in the config
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: plan.CloneFlags,
		// If this process dies, so does the container: nothing is orphaned.
		Pdeathsig: unix.SIGKILL,
	}
	if plan.UIDMap != nil {
		// Go writes these maps between clone and execve, while the child
		// waits: they must be in place before the init's execve, or the
		// kernel would recompute its capabilities for an unmapped user.
		cmd.SysProcAttr.UidMappings = idMaps(plan.UIDMap)
		cmd.SysProcAttr.GidMappings = idMaps(plan.GIDMap)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = plan.Setgroups == "allow"
		// And become root inside before execve: the host uid this process
		// runs as may not be mapped at all (root mapping a container onto
		// 100000 and up), and an unmapped user has no capabilities there.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: plan.Setgroups == "deny"}
	}
	if s.Cgroup != "" {
		dir, err := os.Open(s.Cgroup)
		if err != nil {
			return nil, fmt.Errorf("namespaces: opening cgroup: %w", err)
		}
		defer dir.Close()
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	}
	if err := startWithPipes(cmd, config, s.Prestart); err != nil {
		return nil, err
	}
	c := &Container{Pid: cmd.Process.Pid, cmd: cmd, wait: make(chan struct{})}
	go func() {
		c.err = exitError(cmd.Wait())
		close(c.wait)
	}()
	return c, nil
}

// startWithPipes starts cmd with the configuration on fd 3 and the report
// pipe on fd 4, calls prestart (if any) while the child waits for its
// configuration, sends config, and waits until the child either reports a
// failure or closes the report pipe by executing the command.
func startWithPipes(cmd *exec.Cmd, config []byte, prestart func(pid int) error) (retErr error) {
	configR, configW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer configW.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		configR.Close()
		return err
	}
	defer reportR.Close()
	cmd.ExtraFiles = []*os.File{configR, reportW}
	err = cmd.Start()
	configR.Close() // the child holds its own copies
	reportW.Close()
	if err != nil {
		return fmt.Errorf("namespaces: starting the init: %w (creating namespaces needs root, or a user namespace for a normal user)", err)
	}
	defer func() {
		if retErr != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// The child blocks reading its configuration: whatever prestart does
	// is done before the child does anything.
	if prestart != nil {
		if err := prestart(cmd.Process.Pid); err != nil {
			return fmt.Errorf("namespaces: prestart: %w", err)
		}
	}
	// The child reads until EOF: close our end once it is written.
	if _, err := configW.Write(config); err != nil {
		return fmt.Errorf("namespaces: sending the configuration: %w", err)
	}
	configW.Close()
	msg, err := io.ReadAll(reportR)
	if err != nil {
		return fmt.Errorf("namespaces: reading the init's report: %w", err)
	}
	if len(msg) == 0 {
		return nil // closed on execve: the command runs
	}
	var se chroot.StepError
	if err := json.Unmarshal(msg, &se); err != nil {
		return fmt.Errorf("namespaces: the init failed and sent an unreadable report %q: %w", msg, err)
	}
	cmd.Wait()
	se.ExitCode = cmd.ProcessState.ExitCode()
	return &se
}

// Wait waits for the container's init to exit. A non-zero exit comes back
// as an *ExitError.
func (c *Container) Wait() error {
	<-c.wait
	return c.err
}

// Signal sends sig to the container's init. Without the tiny init, the
// command is PID 1 of its namespace, and the kernel drops every signal but
// SIGKILL and SIGSTOP that it has no handler for.
func (c *Container) Signal(sig os.Signal) error {
	return c.cmd.Process.Signal(sig)
}

// Run starts a container and waits for it. Cancelling ctx kills it.
func Run(ctx context.Context, s Spec, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := Start(s, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	select {
	case <-c.wait:
	case <-ctx.Done():
		c.Signal(unix.SIGKILL)
		<-c.wait
		return ctx.Err()
	}
	return c.err
}

// exitError turns what exec.Cmd.Wait returned into an *ExitError with the
// shell's code.
func exitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok {
		return err
	}
	if ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal()), Signal: unix.Signal(ws.Signal())}
	}
	return &ExitError{Code: ws.ExitStatus()}
}

func idMaps(m []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, x := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)}
	}
	return out
}

// Inodes returns the inode of each namespace of process pid: two processes
// share a namespace when the inodes are equal.
func Inodes(pid int) (map[Namespace]uint64, error) {
	out := map[Namespace]uint64{}
	for _, n := range All {
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, n.ProcFile()), &st); err != nil {
			return nil, fmt.Errorf("namespaces: %w", err)
		}
		out[n] = st.Ino
	}
	return out, nil
}
