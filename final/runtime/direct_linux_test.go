package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// requireDirect skips where this kernel cannot start directly.
func requireDirect(t *testing.T) {
	t.Helper()
	testkit.RequireRoot(t)
	if !runtime.DirectSupported() {
		t.Skip("this kernel cannot start containers directly (proc's pidns mount key is Linux 6.18): Start re-executes its init, which the other tests cover")
	}
}

// threadsIn counts the threads of this process in the mount namespace of
// process pid.
func threadsIn(t *testing.T, pid int) int {
	t.Helper()
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	require.NoError(t, err)
	tasks, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	n := 0
	for _, task := range tasks {
		if l, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/mnt"); err == nil && l == theirs {
			n++
		}
	}
	return n
}

// A container started directly and one started through the re-executed
// init are the same container, seen from inside: user, groups, session,
// capabilities, limits, mounts, masks, sysctls, names. Only the way there
// differs: directly, a thread of this process holds the container's
// namespaces until the command has been waited for.
func TestDirectAndReExecAgree(t *testing.T) {
	requireDirect(t)
	testkit.CheckResidue(t)
	script := `
		echo "id: $(id)"; echo "pid: $$ ppid: $PPID"; echo "cwd: $(pwd) umask: $(umask)"
		echo "hostname: $(hostname)"; echo "lo: $(cat /sys/class/net/lo/flags)"
		grep -E '^(Cap|NoNewPrivs|Sig(Ign|Blk)|Seccomp:)' /proc/self/status
		grep -E '^Max (open files|processes)' /proc/self/limits
		echo "oom: $(cat /proc/self/oom_score_adj)"
		echo "sysctl: $(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
		echo "sid: $(cut -d' ' -f6 /proc/self/stat) tty: $(cut -d' ' -f7 /proc/self/stat)"
		for f in /proc/kcore /proc/keys /proc/timer_list; do echo "$f $(wc -c < $f)"; done
		echo "first pid: $(ls /proc | grep -E '^[0-9]+$' | head -1)"
		ls -A /dev | tr '\n' ' '; echo
		touch /etc/x 2>&1 | sed 's/.*: //'
		awk '{ for (i = 7; $i != "-"; i++); print $5, $6, $(i+1), $(i+2) }' /proc/self/mountinfo | sort
	`
	scenarios := []struct {
		name  string
		edit  func(*specs.Spec)
		wants []string
	}{
		{"root, with limits", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{10, 20}}
			// Lowered only: raising a hard limit needs CAP_SYS_RESOURCE,
			// which a test's root may lack.
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654}, {Type: "RLIMIT_NPROC", Soft: 77, Hard: 77}}
		}, []string{"id: uid=0(root) gid=0(root) groups=10,20", "CapEff:\t" + dockerCaps,
			"Max open files            321                  654", "Max processes             77                   77"}},
		{"another user", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{10, 20}}
		}, []string{"id: uid=65534(nobody) gid=65534(nogroup) groups=10,20", "CapEff:\t0000000000000000"}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			spec := func() *specs.Spec {
				s := newSpec(t, "sh", "-c", script)
				s.Process.Cwd = "/tmp"
				adj := 321
				s.Process.OOMScoreAdj = &adj
				s.Process.NoNewPrivileges = true
				s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "99"}
				s.Root.Readonly = true
				sc.edit(s)
				return s
			}
			run := func(reExec bool) string {
				r, w, err := os.Pipe()
				require.NoError(t, err)
				defer r.Close()
				p, err := runtime.Start(spec(), runtime.StartOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}, ReExec: reExec})
				w.Close()
				require.NoError(t, err)
				started(t, p)
				out := make([]byte, 64<<10)
				n, _ := r.Read(out) // the first line is there once the command runs
				held := threadsIn(t, p.Pid)
				rest, _ := readAll(r)
				st, err := p.Wait()
				require.NoError(t, err)
				require.Equal(t, 0, st.Code)
				if reExec {
					assert.Equal(t, 0, held, "re-executed: no thread of ours in the container")
				} else {
					assert.Equal(t, 1, held, "directly: one thread of ours holds the container's namespaces (else: %s)", runtime.LastReExec())
				}
				return string(out[:n]) + rest
			}
			direct, reExec := run(false), run(true)
			assert.Equal(t, reExec, direct)
			// And they are what the spec says.
			for _, want := range append(sc.wants,
				"pid: 1 ppid: 0", "cwd: /tmp umask: 0022", "hostname: box", "lo: 0x9",
				"CapBnd:\t"+dockerCaps, "NoNewPrivs:\t1", "SigIgn:\t0000000000000000", "oom: 321", "sysctl: 99",
				"sid: 1 tty: 0", "/proc/keys 0", "first pid: 1", "Read-only file system",
				"/proc rw,nosuid,nodev,noexec,relatime proc proc") {
				assert.Contains(t, direct, want)
			}
			assert.Regexp(t, regexp.MustCompile(`(?m)^/ ro,`), direct)
		})
	}
}

func readAll(r *os.File) (string, error) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String(), nil
		}
	}
}

// A direct start that fails leaves nothing: no process, no thread in a
// namespace of the container's, and Docker's exit codes.
func TestDirectStartFailures(t *testing.T) {
	requireDirect(t)
	testkit.CheckResidue(t)
	threads := func() map[string]bool {
		out := map[string]bool{}
		tasks, err := os.ReadDir("/proc/self/task")
		require.NoError(t, err)
		for _, task := range tasks {
			if l, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/mnt"); err == nil {
				out[l] = true
			}
		}
		return out
	}
	before := threads()

	_, err := runtime.Start(newSpec(t, "no-such-command"), runtime.StartOptions{})
	var se *runtime.StartError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 127, se.ExitCode)
	assert.Contains(t, se.Error(), "executable file not found")

	_, err = runtime.Start(newSpec(t, "/etc/passwd"), runtime.StartOptions{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 126, se.ExitCode)

	var pid int
	_, err = runtime.Start(newSpec(t, "sleep", "1000"), runtime.StartOptions{Prestart: func(p int) error {
		pid = p
		return errors.New("no network today")
	}})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 125, se.ExitCode)
	assert.Contains(t, se.Error(), "no network today")
	require.NotZero(t, pid)
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "the command was killed and reaped")

	// A thread ends shortly after its goroutine returns.
	for deadline := time.Now().Add(5 * time.Second); len(threads()) != len(before) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, before, threads(), "the threads that failed are gone, with the namespaces they made")
}
