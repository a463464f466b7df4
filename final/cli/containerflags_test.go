//go:build linux

package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/engine"
)

// fakeEnv is berth's environment in these tests.
func fakeEnv(k string) (string, bool) {
	v, ok := map[string]string{"HOME": "/home/ann", "EMPTY": ""}[k]
	return v, ok
}

// parseRun parses argv as `berth run` would after its name.
func parseRun(t *testing.T, argv ...string) (engine.CreateRequest, error) {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false)
	o := addContainerFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return engine.CreateRequest{}, err
	}
	return parseContainerFlags(fs, o, fs.Args(), fakeEnv)
}

func ptr[T any](v T) *T { return &v }

func TestParseContainerFlags(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		check func(t *testing.T, r engine.CreateRequest)
	}{
		{"image only", []string{"busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, "busybox", r.Config.Image)
			assert.Nil(t, r.Config.Cmd)
			assert.Nil(t, r.Config.Entrypoint, "the image's entrypoint is kept")
			assert.Nil(t, r.Config.StopTimeout)
			assert.Nil(t, r.HostConfig.Init)
			assert.Nil(t, r.HostConfig.PidsLimit)
			assert.True(t, r.Config.AttachStdout)
			assert.True(t, r.Config.AttachStderr)
			assert.False(t, r.Config.AttachStdin)
		}},
		{"command and its flags", []string{"busybox", "ls", "-l", "--color"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, []string{"ls", "-l", "--color"}, r.Config.Cmd)
			assert.Nil(t, r.Config.Labels, "-l after IMAGE is the container's, not --label")
		}},
		{"name", []string{"--name", "web", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, "web", r.Name)
		}},
		{"-it", []string{"-it", "busybox", "sh"}, func(t *testing.T, r engine.CreateRequest) {
			assert.True(t, r.Config.Tty)
			assert.True(t, r.Config.OpenStdin)
			assert.True(t, r.Config.AttachStdin)
			assert.True(t, r.Config.StdinOnce)
		}},
		{"--rm", []string{"--rm", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.True(t, r.HostConfig.AutoRemove)
		}},
		{"env", []string{"-e", "A=1", "--env", "B=x=y,z", "-e", "HOME", "-e", "UNSET", "-e", "EMPTY", "-e", "C=", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, []string{"A=1", "B=x=y,z", "HOME=/home/ann", "EMPTY=", "C="}, r.Config.Env,
				"KEY alone takes berth's value, dropped if berth has none; commas are not separators")
		}},
		{"workdir, user, hostname", []string{"-w", "/srv", "-u", "1000:1000", "-h", "box", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, "/srv", r.Config.WorkingDir)
			assert.Equal(t, "1000:1000", r.Config.User)
			assert.Equal(t, "box", r.Config.Hostname)
		}},
		{"network", []string{"--network", "backend", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, "backend", r.HostConfig.NetworkMode)
		}},
		{"limits", []string{"-m", "64m", "--memory-swap", "1g", "--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0-1", "--pids-limit", "100", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			h := r.HostConfig
			assert.Equal(t, int64(64<<20), h.Memory)
			assert.Equal(t, int64(1<<30), h.MemorySwap)
			assert.Equal(t, int64(1_500_000_000), h.NanoCpus)
			assert.Equal(t, int64(512), h.CpuShares)
			assert.Equal(t, "0-1", h.CpusetCpus)
			assert.Equal(t, ptr(int64(100)), h.PidsLimit)
		}},
		{"unlimited swap and pids", []string{"-m", "1g", "--memory-swap", "-1", "--pids-limit", "-1", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, int64(-1), r.HostConfig.MemorySwap)
			assert.Equal(t, ptr(int64(-1)), r.HostConfig.PidsLimit)
		}},
		{"--init, --read-only", []string{"--init", "--read-only", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, ptr(true), r.HostConfig.Init)
			assert.True(t, r.HostConfig.ReadonlyRootfs)
		}},
		{"--init=false is said", []string{"--init=false", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, ptr(false), r.HostConfig.Init)
		}},
		{"entrypoint", []string{"--entrypoint", "/bin/echo", "busybox", "hi"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, []string{"/bin/echo"}, r.Config.Entrypoint)
			assert.Equal(t, []string{"hi"}, r.Config.Cmd)
		}},
		{"empty entrypoint clears the image's", []string{"--entrypoint", "", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, []string{""}, r.Config.Entrypoint)
		}},
		{"labels", []string{"-l", "a=1", "--label", "b", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, map[string]string{"a": "1", "b": ""}, r.Config.Labels)
		}},
		{"stop signal and timeout", []string{"--stop-signal", "SIGINT", "--stop-timeout", "0", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, "SIGINT", r.Config.StopSignal)
			assert.Equal(t, ptr(0), r.Config.StopTimeout, "0 is a timeout, not unset")
		}},
		{"ports", []string{"-p", "8080:80", "-p", "53/udp", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, map[string]struct{}{"80/tcp": {}, "53/udp": {}}, r.Config.ExposedPorts)
			assert.Equal(t, map[string][]engine.PortBinding{
				"80/tcp": {{HostPort: "8080"}},
				"53/udp": {{}},
			}, r.HostConfig.PortBindings)
		}},
		{"volumes", []string{"-v", "/srv:/data:ro", "-v", "cache:/cache", "-v", "/scratch", "busybox"}, func(t *testing.T, r engine.CreateRequest) {
			assert.Equal(t, []string{"/srv:/data:ro", "cache:/cache"}, r.HostConfig.Binds)
			assert.Equal(t, map[string]struct{}{"/scratch": {}}, r.Config.Volumes)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRun(t, tt.argv...)
			require.NoError(t, err)
			tt.check(t, r)
		})
	}
}

func TestParseContainerFlagsErrors(t *testing.T) {
	tests := []struct {
		argv []string
		want string // in the message
	}{
		{[]string{"-m", "lots", "busybox"}, `invalid argument "lots" for "-m, --memory" flag`},
		{[]string{"-m", "-5m", "busybox"}, "must be positive"},
		{[]string{"-m", "1k", "busybox"}, "minimum is 6 MiB"},
		{[]string{"--memory-swap", "1g", "busybox"}, "needs --memory"},
		{[]string{"-m", "1g", "--memory-swap", "512m", "busybox"}, "smaller than --memory"},
		{[]string{"--cpus", "many", "busybox"}, `invalid argument "many" for "--cpus" flag`},
		{[]string{"--cpus", "-1", "busybox"}, "must be positive"},
		{[]string{"--cpu-shares", "1", "busybox"}, "between 2 and 262144"},
		{[]string{"--cpuset-cpus", "2-1", "busybox"}, "--cpuset-cpus"},
		{[]string{"--pids-limit", "-2", "busybox"}, "--pids-limit"},
		{[]string{"-p", "80:abc", "busybox"}, `invalid container port "abc"`},
		{[]string{"-p", "99999", "busybox"}, "invalid container port"},
		{[]string{"-p", "80/icmp", "busybox"}, `invalid protocol "icmp"`},
		{[]string{"-p", "1.2.3:80:80", "busybox"}, `invalid IP address "1.2.3"`},
		{[]string{"-p", "8000-8001:80-82", "busybox"}, "not ranges of the same length"},
		{[]string{"-v", "data", "busybox"}, "must be an absolute path"},
		{[]string{"-v", "/a:/b:rx", "busybox"}, `invalid mode "rx"`},
		{[]string{"-v", "/a:/", "busybox"}, "can't be '/'"},
		{[]string{"-v", "a/b:/x", "busybox"}, "invalid characters for a volume name"},
		{[]string{"-v", "/x:ro", "busybox"}, "anonymous volume takes no mode"},
		{[]string{"-v", "/a:/x", "-v", "b:/x/", "busybox"}, "duplicate mount point"},
		{[]string{"-e", "=1", "busybox"}, "invalid environment variable"},
		{[]string{"--env-file", "/no/such/file", "busybox"}, "/no/such/file"},
		{[]string{"-w", "relative", "busybox"}, "absolute path"},
		{[]string{"--no-such-flag", "busybox"}, "unknown flag: --no-such-flag"},
	}
	for _, tt := range tests {
		_, err := parseRun(t, tt.argv...)
		if assert.Error(t, err, "%v", tt.argv) {
			assert.Contains(t, err.Error(), tt.want, "%v", tt.argv)
		}
	}
}

func TestParsePortSpec(t *testing.T) {
	type m = portMapping
	b := func(ip, port string) engine.PortBinding { return engine.PortBinding{HostIP: ip, HostPort: port} }
	tests := []struct {
		spec string
		want []portMapping
	}{
		{"80", []m{{"80/tcp", b("", "")}}},
		{"8080:80", []m{{"80/tcp", b("", "8080")}}},
		{"127.0.0.1:8080:80", []m{{"80/tcp", b("127.0.0.1", "8080")}}},
		{"127.0.0.1::80", []m{{"80/tcp", b("127.0.0.1", "")}}},
		{"0:80", []m{{"80/tcp", b("", "0")}}},
		{"53:53/udp", []m{{"53/udp", b("", "53")}}},
		{"53:53/UDP", []m{{"53/udp", b("", "53")}}},
		{"9/sctp", []m{{"9/sctp", b("", "")}}},
		{"[::1]:8080:80", []m{{"80/tcp", b("::1", "8080")}}},
		{"8000-8001:80-81", []m{{"80/tcp", b("", "8000")}, {"81/tcp", b("", "8001")}}},
		{"80-81", []m{{"80/tcp", b("", "")}, {"81/tcp", b("", "")}}},
		{"8000-8010:80", []m{{"80/tcp", b("", "8000-8010")}}},
		{"published=8080,target=80", []m{{"80/tcp", b("", "8080")}}},
		{"target=53,protocol=udp", []m{{"53/udp", b("", "")}}},
	}
	for _, tt := range tests {
		got, err := parsePortSpec(tt.spec)
		if assert.NoError(t, err, tt.spec) {
			assert.Equal(t, tt.want, got, tt.spec)
		}
	}
}

func TestParseVolumes(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	binds, anon, err := parseVolumes([]string{"/host:/c", "/host/ro:/r:ro", "/host/rw:/w:rw", "vol:/v", "my_vol.1:/m", "./here:/h", "/anon"})
	require.NoError(t, err)
	assert.Equal(t, []string{"/host:/c", "/host/ro:/r:ro", "/host/rw:/w:rw", "vol:/v", "my_vol.1:/m", filepath.Join(wd, "here") + ":/h"}, binds)
	assert.Equal(t, map[string]struct{}{"/anon": {}}, anon)
}

func TestEnvFile(t *testing.T) {
	file := "\uFEFF# a comment\n" +
		"A=1\n" +
		"\n" +
		"   # an indented comment\n" +
		"  B=two words  \n" +
		"QUOTED=\"as is\"\n" +
		"HOME\n" +
		"UNSET\n" +
		"EMPTY=\n"
	env, err := parseEnvFile(strings.NewReader(file), fakeEnv)
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=two words  ", `QUOTED="as is"`, "HOME=/home/ann", "EMPTY="}, env)

	_, err = parseEnvFile(strings.NewReader("BAD KEY=1\n"), fakeEnv)
	assert.ErrorContains(t, err, "whitespace")
	_, err = parseEnvFile(strings.NewReader("=1\n"), fakeEnv)
	assert.ErrorContains(t, err, "no variable name")

	// Files come first, in order; -e flags override by coming later.
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "one.env"), filepath.Join(dir, "two.env")
	require.NoError(t, os.WriteFile(f1, []byte("A=1\nB=1\n"), 0o644))
	require.NoError(t, os.WriteFile(f2, []byte("B=2\n"), 0o644))
	r, err := parseRun(t, "--env-file", f1, "--env-file", f2, "-e", "A=3", "busybox")
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=1", "B=2", "A=3"}, r.Config.Env)

	require.NoError(t, os.WriteFile(f1, []byte("ok=1\nnot ok=2\n"), 0o644))
	_, err = parseRun(t, "--env-file", f1, "busybox")
	assert.ErrorContains(t, err, "invalid env file ("+f1+")")
}

// run's command keeps the container's flags for the container: IMAGE ends
// berth's flags.
func TestRunFlagsStopAtImage(t *testing.T) {
	b := &berthCLI{lookupEnv: fakeEnv}
	for _, cmd := range []string{"run", "create"} {
		c := newRunCommand(b)
		if cmd == "create" {
			c = newCreateCommand(b)
		}
		require.NoError(t, c.ParseFlags([]string{"--rm", "busybox", "ls", "-l", "--rm", "-h"}))
		assert.Equal(t, []string{"busybox", "ls", "-l", "--rm", "-h"}, c.Flags().Args(), cmd)
		rm, _ := c.Flags().GetBool("rm")
		assert.True(t, rm, cmd)
		h, _ := c.Flags().GetString("hostname")
		assert.Empty(t, h, cmd)
	}
}
