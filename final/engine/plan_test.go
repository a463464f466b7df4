//go:build linux

package engine

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests need no root: they check the engine's pure parts.

func TestParseBind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MountPoint
		err  string
	}{
		{in: "/srv/data:/data", want: MountPoint{Type: "bind", Source: "/srv/data", Destination: "/data", RW: true, Propagation: "rprivate"}},
		{in: "/srv/data:/data:ro", want: MountPoint{Type: "bind", Source: "/srv/data", Destination: "/data", Mode: "ro", Propagation: "rprivate"}},
		{in: "cache:/var/cache/", want: MountPoint{Type: "volume", Name: "cache", Destination: "/var/cache", Driver: "local", RW: true}},
		{in: "/data", want: MountPoint{Type: "volume", Destination: "/data", Driver: "local", RW: true}},
		{in: "data:relative", err: "absolute"},
		{in: "/a:/", err: "root"},
		{in: "/a:/b:rx", err: "unknown option"},
		{in: "a:b:c:d", err: "SOURCE:DESTINATION"},
		{in: "-bad:/x", err: "neither"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseBind(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalid)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			if tc.want.Type == "volume" && tc.want.Name == "" {
				assert.Len(t, got.Name, 64, "an anonymous volume gets a random name")
				got.Name = ""
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1", "B=2"}, []string{"B=3", "C=4", "PATH=/usr/bin"})
	assert.Equal(t, []string{"PATH=/usr/bin", "A=1", "B=3", "C=4"}, got)
}

func TestContainerEnv(t *testing.T) {
	env := containerEnv(Config{Hostname: "h1", Env: []string{"A=1"}, Tty: true}, "/root")
	assert.Equal(t, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=h1", "A=1", "TERM=xterm", "HOME=/root"}, env)
	env = containerEnv(Config{Hostname: "h1", Env: []string{"PATH=/x", "HOME=/h"}}, "/root")
	assert.Equal(t, []string{"HOSTNAME=h1", "PATH=/x", "HOME=/h"}, env)
}

func TestPortMappings(t *testing.T) {
	got, err := portMappings(map[string][]PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "127.0.0.1:8080->80/tcp", got[0].String())

	got, err = portMappings(map[string][]PortBinding{"53/udp": nil})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, uint16(53), got[0].ContainerPort)
	assert.Equal(t, "udp", got[0].Proto)

	_, err = portMappings(map[string][]PortBinding{"http/tcp": nil})
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestParseDetachKeys(t *testing.T) {
	k, err := parseDetachKeys("ctrl-p,ctrl-q")
	require.NoError(t, err)
	assert.Equal(t, []byte{16, 17}, k)
	k, err = parseDetachKeys("a,ctrl-@")
	require.NoError(t, err)
	assert.Equal(t, []byte{'a', 0}, k)
	_, err = parseDetachKeys("ctrl-1")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = parseDetachKeys("alt-x")
	assert.ErrorIs(t, err, ErrInvalid)
}

// copyStdin passes everything through but the detach sequence, and a
// sequence broken half-way goes through whole.
func TestCopyStdinDetach(t *testing.T) {
	for _, tc := range []struct {
		in, sent string
		detached bool
	}{
		{in: "ls\n", sent: "ls\n"},
		{in: "ab\x10\x11cd", sent: "ab", detached: true},
		{in: "a\x10b\x10\x10\x11", sent: "a\x10b\x10", detached: true},
		{in: "a\x10", sent: "a"}, // held back until it is known not to be the sequence; EOF drops it
	} {
		a, b := net.Pipe()
		var got bytes.Buffer
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(&got, b) }()
		err := copyStdin(a, strings.NewReader(tc.in), []byte{16, 17})
		a.Close()
		wg.Wait()
		assert.Equal(t, tc.detached, errors.Is(err, ErrDetached), "%q", tc.in)
		assert.Equal(t, tc.sent, got.String(), "%q", tc.in)
	}
}

func TestStatusLine(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, "Up 5 seconds", statusLine(State{Status: "running", StartedAt: now.Add(-5 * time.Second)}, now))
	assert.Equal(t, "Up About a minute", statusLine(State{Status: "running", StartedAt: now.Add(-70 * time.Second)}, now))
	assert.Equal(t, "Exited (3) 2 hours ago", statusLine(State{Status: "exited", ExitCode: 3, FinishedAt: now.Add(-150 * time.Minute)}, now))
	assert.Equal(t, "Created", statusLine(State{Status: "created"}, now))
}

func TestQuoteCommand(t *testing.T) {
	assert.Equal(t, `sh -c echo hi`, quoteCommand([]string{"sh", "-c", "echo hi"}))
	assert.Equal(t, `true`, quoteCommand([]string{"true"}))
}

func TestParsePS(t *testing.T) {
	out := "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 4242 4200 0 10:01 ? 00:00:00 sleep 1000\n"
	top, err := parsePS(out, map[int]bool{4242: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, top.Titles)
	assert.Equal(t, [][]string{{"root", "4242", "4200", "0", "10:01", "?", "00:00:00", "sleep 1000"}}, top.Processes)
	_, err = parsePS("USER COMMAND\nroot x\n", nil)
	assert.Error(t, err)
}

// The json-file log: lines become entries, a partial line waits for its
// end, both streams share the file, and the reader gives them back.
func TestLogRoundTrip(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "c-json.log"))
	require.NoError(t, err)
	var mu sync.Mutex
	out := &logWriter{mu: &mu, f: f, stream: "stdout"}
	errw := &logWriter{mu: &mu, f: f, stream: "stderr"}
	out.Write([]byte("hel"))
	out.Write([]byte("lo\nworld\nno newline"))
	errw.Write([]byte("oops\n"))
	out.Flush()
	require.NoError(t, f.Close())

	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4)
	assert.Contains(t, lines[0], `{"log":"hello\n","stream":"stdout","time":"`)

	r := bufio.NewReader(bytes.NewReader(b))
	var got []string
	for {
		le, err := readEntry(r)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, le.Stream+":"+le.Log)
	}
	assert.Equal(t, []string{"stdout:hello\n", "stdout:world\n", "stderr:oops\n", "stdout:no newline"}, got)
}

// A line that never ends is cut into entries of maxLogLine bytes.
func TestLogLongLine(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "c-json.log"))
	require.NoError(t, err)
	defer f.Close()
	w := &logWriter{mu: &sync.Mutex{}, f: f, stream: "stdout"}
	w.Write(bytes.Repeat([]byte("x"), maxLogLine+10))
	w.Flush()
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(b), "\n"))
}

func TestGenerateName(t *testing.T) {
	taken := map[string]bool{}
	for range 200 {
		n := generateName(taken)
		assert.False(t, taken[n], n)
		assert.Regexp(t, validName(), n)
		taken[n] = true
	}
}

func TestStartTimeNamesThisProcess(t *testing.T) {
	p := procOf(os.Getpid())
	assert.True(t, p.alive())
	p.Start++
	assert.False(t, p.alive(), "another start time is another process")
	assert.False(t, proc{}.alive())
}

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeFrame(&b, streamStderr, []byte("abc")))
	assert.Equal(t, []byte{2, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'}, b.Bytes())
	s, p, err := readFrame(bufio.NewReader(&b), nil)
	require.NoError(t, err)
	assert.Equal(t, byte(streamStderr), s)
	assert.Equal(t, "abc", string(p))
	_, _, err = readFrame(bufio.NewReader(bytes.NewReader([]byte{1, 0, 0, 0, 0xff, 0, 0, 0})), nil)
	assert.ErrorContains(t, err, "corrupt")
}
