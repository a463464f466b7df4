package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verdict stands in for a test to catch a skip or a failure; like a
// test's, they end the goroutine that calls them.
type verdict struct {
	testing.TB
	skipped, failed string
	cleanups        []func()
}

func (v *verdict) Helper()          {}
func (v *verdict) Cleanup(f func()) { v.cleanups = append(v.cleanups, f) }
func (v *verdict) Skip(args ...any) { v.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (v *verdict) Fatal(args ...any) {
	v.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

func judge(t *testing.T, f func(testing.TB)) *verdict {
	v := &verdict{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(v)
	}()
	<-done
	for i := len(v.cleanups) - 1; i >= 0; i-- {
		v.cleanups[i]()
	}
	return v
}

func get(t *testing.T, url, user, password string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestRegistryAnswers(t *testing.T) {
	CheckResidue(t)
	t.Run("without auth", func(t *testing.T) {
		r := NewRegistry(t, RegistryOptions{})
		host, port, err := net.SplitHostPort(r.Addr)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.Equal(t, "http://127.0.0.1:"+port, r.URL())
		assert.Equal(t, "127.0.0.1:"+port+"/x/y:1", r.Ref("x/y:1"))
		assert.Empty(t, r.User)
		assert.Empty(t, r.Password)

		resp := get(t, r.URL()+"/v2/", "", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "registry/2.0", resp.Header.Get("Docker-Distribution-Api-Version"))
	})
	t.Run("with auth", func(t *testing.T) {
		r := NewRegistry(t, RegistryOptions{Auth: true})
		assert.NotEmpty(t, r.User)
		assert.Len(t, r.Password, 32)

		resp := get(t, r.URL()+"/v2/", "", "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, `Basic realm="berth"`, resp.Header.Get("WWW-Authenticate"))
		assert.Equal(t, http.StatusOK, get(t, r.URL()+"/v2/", r.User, r.Password).StatusCode)
		assert.Equal(t, http.StatusUnauthorized, get(t, r.URL()+"/v2/", r.User, "wrong").StatusCode)
	})
}

// skopeoInspect is what `skopeo inspect` prints, in part.
type skopeoInspect struct {
	Digest       string
	Layers       []string
	Architecture string
	Os           string
	Env          []string
}

func inspect(t *testing.T, r *Registry, ref string) skopeoInspect {
	t.Helper()
	var out skopeoInspect
	s := r.Skopeo(t, "inspect", ref)
	require.NoError(t, json.Unmarshal([]byte(s), &out), s)
	return out
}

func TestRegistryPushAndPull(t *testing.T) {
	CheckResidue(t)
	for _, auth := range []bool{false, true} {
		t.Run(fmt.Sprintf("auth=%v", auth), func(t *testing.T) {
			// skopeo must write nothing into the home it would use.
			home := t.TempDir()
			t.Setenv("HOME", home)
			r := NewRegistry(t, RegistryOptions{Auth: auth})
			layout := filepath.Join(t.TempDir(), "layout")
			want, err := WriteOCILayout(layout, "v1", fixtureLayers...)
			require.NoError(t, err)

			local := inspect(t, r, "oci:"+layout+":v1")
			assert.Equal(t, want, local.Digest)
			assert.Len(t, local.Layers, 2)
			assert.Equal(t, runtime.GOARCH, local.Architecture)
			assert.Equal(t, "linux", local.Os)

			r.Skopeo(t, "copy", "oci:"+layout+":v1", "docker://"+r.Ref("x/y:1"))
			remote := inspect(t, r, "docker://"+r.Ref("x/y:1"))
			assert.Equal(t, want, remote.Digest, "pushed as is: same manifest, same digest")
			assert.Equal(t, local.Layers, remote.Layers)
			assert.Contains(t, r.Skopeo(t, "list-tags", "docker://"+r.Ref("x/y")), `"1"`)

			// And back, through the source-side flags.
			back := filepath.Join(t.TempDir(), "back")
			r.Skopeo(t, "copy", "docker://"+r.Ref("x/y:1"), "oci:"+back+":pulled")
			assert.Equal(t, want, inspect(t, r, "oci:"+back+":pulled").Digest)

			if auth {
				// The credentials were needed: without them the registry
				// refuses.
				cmd := exec.Command("skopeo", r.skopeoArgs([]string{"inspect", "--no-creds", "docker://" + r.Ref("x/y:1")})...)
				cmd.Env = r.skopeoEnv()
				out, err := cmd.CombinedOutput()
				assert.Error(t, err)
				assert.Contains(t, strings.ToLower(string(out)), "unauthorized", "%s", out)
			}

			entries, err := os.ReadDir(home)
			require.NoError(t, err)
			assert.Empty(t, entries, "skopeo wrote into $HOME")
			_, err = os.Stat(filepath.Join(r.Dir, "skopeo/data/containers/cache/blob-info-cache-v1.boltdb"))
			assert.NoError(t, err, "skopeo's blob-info cache belongs in the registry's directory, even for root")
		})
	}
}

func TestStopLeavesNothing(t *testing.T) {
	if _, err := exec.LookPath("docker-registry"); err != nil {
		missingTool(t, fmt.Errorf("%w: %v", errNoTool, err))
	}
	CheckResidue(t)
	r, stop, err := StartRegistry(RegistryOptions{Auth: true})
	require.NoError(t, err)
	pid := r.cmd.Process.Pid
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	assert.Regexp(t, residueProc, string(cmdline), "a leftover registry is residue")
	pgid, err := syscall.Getpgid(pid)
	require.NoError(t, err)
	assert.Equal(t, pid, pgid, "in its own process group")

	require.NoError(t, stop())
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the registry is gone")
	_, err = os.Stat(r.Dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "its directory is gone")
	assert.NoError(t, stop(), "stop may be called again")
	for _, p := range snapProcs(true) {
		assert.NotContains(t, p, "docker-registry")
	}
}

// holdPort listens on a free port for the rest of the test.
func holdPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// withFreePort replaces freePort for the rest of the test.
func withFreePort(t *testing.T, f func() (int, error)) {
	orig := freePort
	freePort = f
	t.Cleanup(func() { freePort = orig })
}

func TestStartRegistryRetriesAPortClash(t *testing.T) {
	if _, err := exec.LookPath("docker-registry"); err != nil {
		missingTool(t, fmt.Errorf("%w: %v", errNoTool, err))
	}
	CheckResidue(t)
	taken := holdPort(t)
	orig := freePort
	calls := 0
	withFreePort(t, func() (int, error) {
		if calls++; calls == 1 {
			return taken, nil
		}
		return orig()
	})
	r := NewRegistry(t, RegistryOptions{})
	assert.Equal(t, 2, calls)
	assert.NotEqual(t, fmt.Sprintf("127.0.0.1:%d", taken), r.Addr)
	assert.Equal(t, http.StatusOK, get(t, r.URL()+"/v2/", "", "").StatusCode)
}

func TestStartRegistryFailureShowsTheLogAndLeavesNothing(t *testing.T) {
	if _, err := exec.LookPath("docker-registry"); err != nil {
		missingTool(t, fmt.Errorf("%w: %v", errNoTool, err))
	}
	CheckResidue(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	taken := holdPort(t)
	withFreePort(t, func() (int, error) { return taken, nil })
	_, _, err := StartRegistry(RegistryOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "registry.log:")
	assert.Contains(t, err.Error(), "address already in use", "the log's tail says why")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the registry's directory is removed")
}

func TestMissingToolsSkipOrFail(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(FixturesEnv, "")
	v := judge(t, func(tb testing.TB) { NewRegistry(tb, RegistryOptions{}) })
	assert.Empty(t, v.failed)
	assert.Contains(t, v.skipped, "docker-registry is not on PATH; install: sudo apt-get install docker-registry (or sudo make deps)")
	v = judge(t, func(tb testing.TB) { RequireTool(tb, "skopeo", SkopeoFix) })
	assert.Contains(t, v.skipped, "skopeo is not on PATH; install: sudo apt-get install skopeo")

	t.Setenv(FixturesEnv, "1")
	v = judge(t, func(tb testing.TB) { NewRegistry(tb, RegistryOptions{}) })
	assert.Empty(t, v.skipped)
	assert.Contains(t, v.failed, "sudo apt-get install docker-registry")
	v = judge(t, func(tb testing.TB) { RequireTool(tb, "umoci", UmociFix) })
	assert.Contains(t, v.failed, "sudo apt-get install umoci")
}

func TestRequireToolFindsATool(t *testing.T) {
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	assert.Equal(t, sh, RequireTool(t, "sh", "unused"))
}

func TestSkopeoArgs(t *testing.T) {
	r := &Registry{Addr: "127.0.0.1:5000", Dir: "/d"}
	authed := &Registry{Addr: "127.0.0.1:5000", Dir: "/d", User: "u", Password: "pw"}
	global := []string{"--policy", "/d/policy.json", "--tmpdir", "/d/skopeo/tmp"}
	tests := []struct {
		name string
		r    *Registry
		args []string
		want []string
	}{
		{"push", r, []string{"copy", "oci:/l:v1", "docker://127.0.0.1:5000/x/y:1"},
			[]string{"copy", "--dest-tls-verify=false", "oci:/l:v1", "docker://127.0.0.1:5000/x/y:1"}},
		{"pull with auth", authed, []string{"copy", "--quiet", "docker://127.0.0.1:5000/x/y:1", "oci:/l:v1"},
			[]string{"copy", "--src-tls-verify=false", "--src-creds", "u:pw", "--quiet", "docker://127.0.0.1:5000/x/y:1", "oci:/l:v1"}},
		{"between two of its repositories", authed, []string{"copy", "docker://127.0.0.1:5000/a:1", "docker://127.0.0.1:5000/b:1"},
			[]string{"copy", "--src-tls-verify=false", "--src-creds", "u:pw", "--dest-tls-verify=false", "--dest-creds", "u:pw", "docker://127.0.0.1:5000/a:1", "docker://127.0.0.1:5000/b:1"}},
		{"a flag value is not a reference", r, []string{"copy", "--format", "oci", "oci:/l:v1", "docker://127.0.0.1:5000/x:1"},
			[]string{"copy", "--dest-tls-verify=false", "--format", "oci", "oci:/l:v1", "docker://127.0.0.1:5000/x:1"}},
		{"inspect with auth", authed, []string{"inspect", "--raw", "docker://127.0.0.1:5000/x/y:1"},
			[]string{"inspect", "--tls-verify=false", "--creds", "u:pw", "--raw", "docker://127.0.0.1:5000/x/y:1"}},
		{"the caller's --no-creds", authed, []string{"inspect", "--no-creds", "docker://127.0.0.1:5000/x:1"},
			[]string{"inspect", "--tls-verify=false", "--no-creds", "docker://127.0.0.1:5000/x:1"}},
		{"list-tags", r, []string{"list-tags", "docker://127.0.0.1:5000/x"},
			[]string{"list-tags", "--tls-verify=false", "docker://127.0.0.1:5000/x"}},
		{"another registry", authed, []string{"inspect", "docker://127.0.0.1:50001/x:1"},
			[]string{"inspect", "docker://127.0.0.1:50001/x:1"}},
		{"local only", authed, []string{"inspect", "oci:/l:v1"}, []string{"inspect", "oci:/l:v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, append(append([]string{}, global...), tt.want...), tt.r.skopeoArgs(tt.args))
		})
	}
	assert.Equal(t, "copy --src-creds u:*** x", authed.redact([]string{"copy", "--src-creds", "u:pw", "x"}))
}

func TestResidueProcNamesChapter06Tools(t *testing.T) {
	for _, cl := range []string{
		"/usr/bin/docker-registry serve /srv/config.yml",
		"skopeo copy oci:/l:v1 docker://127.0.0.1:5000/x:1",
		"umoci unpack --image /l:v1 /b",
	} {
		assert.Regexp(t, residueProc, cl)
	}
	assert.NotRegexp(t, residueProc, "sleep 60")
}

// TestRegistryStopsWhenItsTestBinaryDies runs a test binary that starts a
// registry and is killed before its cleanups: the kernel must take the
// registry with it.
func TestRegistryStopsWhenItsTestBinaryDies(t *testing.T) {
	if os.Getenv("BERTH_TEST_ORPHAN") == "1" {
		r := NewRegistry(t, RegistryOptions{})
		fmt.Printf("registry pid %d dir %s\n", r.cmd.Process.Pid, r.Dir)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("PR_SET_PDEATHSIG is Linux's")
	}
	if _, err := exec.LookPath("docker-registry"); err != nil {
		missingTool(t, fmt.Errorf("%w: %v", errNoTool, err))
	}
	CheckResidue(t)
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.CommandContext(context.Background(), self, "-test.run", "^TestRegistryStopsWhenItsTestBinaryDies$", "-test.v")
	cmd.Env = append(os.Environ(), "BERTH_TEST_ORPHAN=1")
	out, err := cmd.Output()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child must die by SIGKILL: %v\n%s", err, out)
	i := strings.Index(string(out), "registry pid")
	require.GreaterOrEqual(t, i, 0, "%s", out)
	var pid int
	var dir string
	_, err = fmt.Sscanf(string(out[i:]), "registry pid %d dir %s", &pid, &dir)
	require.NoError(t, err, "%s", out)
	// The directory outlives a killed test: nothing ran to remove it. Nor
	// should the registry, but if it does, it must not outlive this test.
	t.Cleanup(func() {
		if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cl), dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	// The orphan is no descendant of ours, so CheckResidue would not see
	// it: look for it by pid. Dead means gone, or a zombie its new parent
	// has not reaped yet.
	require.Eventually(t, func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		j := strings.LastIndexByte(string(stat), ')')
		return j > 0 && strings.HasPrefix(string(stat[j+1:]), " Z")
	}, 5*time.Second, 20*time.Millisecond, "registry %d survived its test binary", pid)
}
