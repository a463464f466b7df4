//go:build linux

package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/engine"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "Less than a second"},
		{999 * time.Millisecond, "Less than a second"},
		{time.Second, "1 second"},
		{5 * time.Second, "5 seconds"},
		{59 * time.Second, "59 seconds"},
		{60 * time.Second, "About a minute"},
		{119 * time.Second, "About a minute"},
		{2 * time.Minute, "2 minutes"},
		{59 * time.Minute, "59 minutes"},
		{60 * time.Minute, "About an hour"},
		{89 * time.Minute, "About an hour"},
		{90 * time.Minute, "2 hours"},
		{47 * time.Hour, "47 hours"},
		{48 * time.Hour, "2 days"},
		{13 * 24 * time.Hour, "13 days"},
		{14 * 24 * time.Hour, "2 weeks"},
		{59 * 24 * time.Hour, "8 weeks"},
		{60 * 24 * time.Hour, "2 months"},
		{729 * 24 * time.Hour, "24 months"},
		{730 * 24 * time.Hour, "2 years"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, humanDuration(tt.d), "%v", tt.d)
	}
	now := time.Now()
	assert.Equal(t, "5 seconds ago", ago(now.Add(-5*time.Second), now))
}

func TestDisplayablePorts(t *testing.T) {
	tests := []struct {
		name  string
		ports []portSummary
		want  string
	}{
		{"none", nil, ""},
		{"exposed", []portSummary{{PrivatePort: 80, Type: "tcp"}}, "80/tcp"},
		{"published", []portSummary{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{"same number", []portSummary{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 80, Type: "tcp"}}, "0.0.0.0:80->80/tcp"},
		{"IPv6", []portSummary{{IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "[::]:8080->80/tcp"},
		{"exposed range", []portSummary{
			{PrivatePort: 8002, Type: "tcp"}, {PrivatePort: 8000, Type: "tcp"}, {PrivatePort: 8001, Type: "tcp"},
		}, "8000-8002/tcp"},
		{"published range", []portSummary{
			{IP: "0.0.0.0", PrivatePort: 8000, PublicPort: 8000, Type: "tcp"},
			{IP: "0.0.0.0", PrivatePort: 8001, PublicPort: 8001, Type: "tcp"},
		}, "0.0.0.0:8000-8001->8000-8001/tcp"},
		{"gap", []portSummary{{PrivatePort: 80, Type: "tcp"}, {PrivatePort: 82, Type: "tcp"}}, "80/tcp, 82/tcp"},
		{"protocols apart", []portSummary{{PrivatePort: 53, Type: "udp"}, {PrivatePort: 53, Type: "tcp"}}, "53/tcp, 53/udp"},
		{"mixed", []portSummary{
			{IP: "127.0.0.1", PrivatePort: 443, PublicPort: 8443, Type: "tcp"},
			{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{PrivatePort: 9000, Type: "udp"},
		}, "9000/udp, 0.0.0.0:8080->80/tcp, 127.0.0.1:8443->443/tcp"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, displayablePorts(tt.ports), tt.name)
	}
}

func TestEllipsisAndIDs(t *testing.T) {
	assert.Equal(t, "short", ellipsis("short", 20))
	assert.Equal(t, "exactly twenty chars", ellipsis("exactly twenty chars", 20))
	assert.Equal(t, "sh -c 'while true; …", ellipsis("sh -c 'while true; do date; sleep 1; done'", 20))
	assert.Equal(t, "héhéhéhéhéhéhéhéhéh…", ellipsis("héhéhéhéhéhéhéhéhéhéhé", 20), "counted in characters, not bytes")
	assert.Equal(t, "0123456789ab", truncateID("0123456789abcdef0123"))
	assert.Equal(t, "0123456789ab", truncateID("sha256:0123456789abcdef0123"))
	assert.Equal(t, "abc", truncateID("abc"))
}

func TestSizes(t *testing.T) {
	assert.Equal(t, "0B", bytesSize(0))
	assert.Equal(t, "1023B", bytesSize(1023))
	assert.Equal(t, "1KiB", bytesSize(1024))
	assert.Equal(t, "1.5MiB", bytesSize(1.5*(1<<20)))
	assert.Equal(t, "7.617GiB", bytesSize(8178872320))
	assert.Equal(t, "0B", humanSize(0))
	assert.Equal(t, "648B", humanSize(648))
	assert.Equal(t, "1.23kB", humanSize(1234))
	assert.Equal(t, "12.3MB", humanSize(12_345_678))
}

func TestPs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	web := engine.Summary{
		ID:      "4c01db0b339cb31a7a3b7a58b1e0c0d5e1d2b1c2a3b4c5d6e7f8091a2b3c4d5e",
		Names:   []string{"/web"},
		Image:   "busybox",
		Command: "sh -c 'mkdir /www && exec httpd -f -p 80 -h /www'",
		Created: now.Add(-90 * time.Second).Unix(),
		Ports:   []engine.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}},
		Status:  "Up About a minute",
	}
	done := engine.Summary{
		ID:      "9f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		Names:   []string{"/quirky_turing"},
		Image:   "sha256:2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
		Command: "true",
		Created: now.Add(-3 * time.Hour).Unix(),
		Status:  "Exited (0) 2 hours ago",
	}
	assert.Equal(t, []string{
		"4c01db0b339c", "busybox", `"sh -c 'mkdir /www &…"`, "About a minute ago",
		"Up About a minute", "0.0.0.0:8080->80/tcp", "web",
	}, psRow(web, true, now))
	assert.Equal(t, []string{
		done.ID, done.Image, `"true"`, "3 hours ago", "Exited (0) 2 hours ago", "", "quirky_turing",
	}, psRow(done, false, now))
	assert.Equal(t, "2d3e4f5a6b7c", psRow(done, true, now)[1], "an image ID is shortened")

	var out bytes.Buffer
	require.NoError(t, writePs(&out, []engine.Summary{web, done}, psOptions{}, now))
	assert.Equal(t, ""+
		"CONTAINER ID   IMAGE          COMMAND                  CREATED              STATUS                   PORTS                  NAMES\n"+
		"4c01db0b339c   busybox        \"sh -c 'mkdir /www &…\"   About a minute ago   Up About a minute        0.0.0.0:8080->80/tcp   web\n"+
		"9f1e2d3c4b5a   2d3e4f5a6b7c   \"true\"                   3 hours ago          Exited (0) 2 hours ago                          quirky_turing\n",
		out.String())

	out.Reset()
	require.NoError(t, writePs(&out, []engine.Summary{web, done}, psOptions{quiet: true}, now))
	assert.Equal(t, "4c01db0b339c\n9f1e2d3c4b5a\n", out.String())
	out.Reset()
	require.NoError(t, writePs(&out, []engine.Summary{web}, psOptions{quiet: true, noTrunc: true}, now))
	assert.Equal(t, web.ID+"\n", out.String())
}

func TestParseTimestamp(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"42m", now.Add(-42 * time.Minute)},
		{"1700000000", time.Unix(1_700_000_000, 0)},
		{"1700000000.5", time.Unix(1_700_000_000, 500_000_000)},
		{"2013-01-02T13:23:37Z", time.Date(2013, 1, 2, 13, 23, 37, 0, time.UTC)},
		{"2013-01-02T13:23:37.25+01:00", time.Date(2013, 1, 2, 12, 23, 37, 250_000_000, time.UTC)},
		{"2013-01-02", time.Date(2013, 1, 2, 0, 0, 0, 0, time.Local)},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.in, now)
		if assert.NoError(t, err, tt.in) {
			assert.True(t, tt.want.Equal(got), "%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
	_, err := parseTimestamp("yesterday", now)
	assert.Error(t, err)
}
