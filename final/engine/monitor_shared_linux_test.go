package engine

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The key changes whenever the binary is rebuilt, in place or renamed
// over, and only then.
func TestExeKey(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "berth")
	require.NoError(t, os.WriteFile(bin, []byte("build 1"), 0o755))
	k1, err := exeKey(bin)
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{8}$`, k1)
	again, err := exeKey(bin)
	require.NoError(t, err)
	assert.Equal(t, k1, again, "the same file, the same key")

	// go build writes a new file and renames it over the old one.
	tmp := filepath.Join(dir, "berth.new")
	require.NoError(t, os.WriteFile(tmp, []byte("build 1"), 0o755))
	require.NoError(t, os.Rename(tmp, bin))
	k2, err := exeKey(bin)
	require.NoError(t, err)
	assert.NotEqual(t, k1, k2, "same bytes, another inode")

	// Rewritten in place: same inode, another modification time.
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(bin, old, old))
	k3, err := exeKey(bin)
	require.NoError(t, err)
	assert.NotEqual(t, k2, k3)

	// The running program's key: the file behind /proc/self/exe and this
	// process's namespaces, the same each time it is asked.
	self, err := monitorKey()
	require.NoError(t, err)
	selfAgain, err := monitorKey()
	require.NoError(t, err)
	assert.Equal(t, self, selfAgain)
	assert.Regexp(t, `^[0-9a-f]{8}$`, self)
	exe, err := os.Executable()
	require.NoError(t, err)
	direct, err := exeKey(exe)
	require.NoError(t, err)
	assert.NotEqual(t, direct, self, "the namespaces are part of the key")

	_, err = exeKey(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, unix.ENOENT)
}

// One holder at a time; a lock file removed by an exiting holder is
// never the one a newcomer locks.
func TestLockMonitor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "monitor-00000000.lock")
	first, err := lockMonitor(path)
	require.NoError(t, err)
	_, err = lockMonitor(path)
	assert.ErrorIs(t, err, unix.EWOULDBLOCK)

	// The holder exits: it removes the file, then lets go.
	require.NoError(t, os.Remove(path))
	require.NoError(t, first.Close())
	second, err := lockMonitor(path)
	require.NoError(t, err)
	defer second.Close()
	var held, now unix.Stat_t
	require.NoError(t, unix.Fstat(int(second.Fd()), &held))
	require.NoError(t, unix.Stat(path, &now))
	assert.Equal(t, now.Ino, held.Ino, "the lock is on the file at the path")
}

// offer tells the cases handOver acts on apart: nobody listening (start
// a monitor), a monitor closing the connection unanswered (it was
// exiting: try again), and one that takes the container.
func TestOffer(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "monitor.sock")
	req := monitorRequest{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}

	_, err := offer(sock, req)
	assert.ErrorIs(t, err, errNoMonitor, "no socket")

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = offer(sock, req)
	assert.ErrorIs(t, err, errNoMonitor, "a dead monitor's socket")
	require.NoError(t, os.Remove(sock))

	serve := func(answer func(net.Conn, []byte)) net.Listener {
		ln, err := net.Listen("unix", sock)
		require.NoError(t, err)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(conn).ReadBytes('\n')
			answer(conn, line)
			conn.Close()
		}()
		return ln
	}

	ln2 := serve(func(net.Conn, []byte) {})
	_, err = offer(sock, req)
	assert.ErrorIs(t, err, errUnanswered)
	ln2.Close()

	got := make(chan []byte, 1)
	ln3 := serve(func(conn net.Conn, line []byte) {
		got <- line
		io.WriteString(conn, `{"Monitor":42}`+"\n"+`{"Started":true,"Pid":7}`+"\n")
	})
	defer ln3.Close()
	r, err := offer(sock, req)
	require.NoError(t, err)
	defer r.Close()
	assert.JSONEq(t, `{"ID":"`+req.ID+`","Attach":false}`, string(<-got))
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, `{"Started":true,"Pid":7}`+"\n", string(rest), "the ack is read; the reports are left for start")
}

func TestIsID(t *testing.T) {
	assert.True(t, isID("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	for _, s := range []string{"", "abc", "../../../../etc/passwd", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"} {
		assert.False(t, isID(s), s)
	}
}
