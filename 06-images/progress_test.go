package image

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLinesWriteChangesAndQuarters(t *testing.T) {
	var out bytes.Buffer
	l := NewLines(&out)
	l.Update(Event{ID: "aaa", Action: "Waiting"})
	for n := int64(0); n <= 100; n += 5 {
		l.Update(Event{ID: "aaa", Action: "Downloading", Current: n, Total: 100})
	}
	l.Update(Event{ID: "aaa", Action: "Download complete"})
	l.Update(Event{ID: "aaa", Action: "Download complete"})
	assert.Equal(t, `aaa: Waiting
aaa: Downloading 0B/100B
aaa: Downloading 25B/100B
aaa: Downloading 50B/100B
aaa: Downloading 75B/100B
aaa: Downloading 100B/100B
aaa: Download complete
`, out.String(), "one line per action, and one per quarter while bytes move")
}

func TestBarsRedrawInPlace(t *testing.T) {
	var out bytes.Buffer
	b := &Bars{w: &out}
	b.Update(Event{ID: "aaa", Action: "Waiting"})
	b.Update(Event{ID: "bbb", Action: "Downloading", Current: 500, Total: 1000})
	out.Reset()
	b.Update(Event{ID: "aaa", Action: "Downloading", Current: 250, Total: 1000})
	s := out.String()
	assert.True(t, strings.HasPrefix(s, "\x1b[2A"), "back up over the two lines drawn: %q", s)
	assert.Contains(t, s, "aaa: Downloading [==========>                             ] 250B/1kB")
	assert.Contains(t, s, "bbb: Downloading [====================>                   ] 500B/1kB")
	assert.Equal(t, 2, strings.Count(s, "\n"))
}

func TestNewProgressPicksLinesForAPipe(t *testing.T) {
	var out bytes.Buffer
	_, ok := NewProgress(&out).(*Lines)
	assert.True(t, ok)
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1_234_567: "1.23MB", 2_500_000_000: "2.5GB"} {
		assert.Equal(t, want, HumanSize(n), n)
	}
}
