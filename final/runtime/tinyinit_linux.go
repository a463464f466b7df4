package runtime

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
)

// tinyInit starts the command as its child and stays as PID 1, as Docker's
// --init (tini) does: it forwards every signal it gets to the command,
// reaps every child that ends (orphans are re-parented to PID 1, and a PID
// 1 that never waits collects zombies), and exits with the command's code
// when the command ends. The process settings (user, capabilities...) are
// already applied: the child inherits them.
func tinyInit(c *child, exe Step, terminal bool) {
	path, err := lookPath(exe.Args[0], exe.Env)
	if err != nil {
		c.fail(exe.String(), err, execCode(err))
	}
	// Without a PID namespace this is not PID 1: becoming a subreaper makes
	// orphans of the command come here all the same.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs) // before the fork: no SIGCHLD can be missed
	pid, err := syscall.ForkExec(path, exe.Args, &syscall.ProcAttr{
		Env:   exe.Env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			// A process group of its own, in the foreground of the
			// terminal if there is one: ^C reaches the command once, from
			// the kernel, not twice (kernel and forwarded).
			Setpgid:    true,
			Foreground: terminal,
			Ctty:       0,
		},
	})
	if err != nil {
		err = execError(exe.Args[0], err)
		c.fail(exe.String(), err, execCode(err))
	}
	c.report.Close() // EOF tells the parent the command runs
	os.Exit(namespaces.Supervise(pid, sigs, 0))
}
