package narrate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanupRunsInReverseAndReportsFailures(t *testing.T) {
	var out bytes.Buffer
	n := New(&out, nil, false)
	var order []string
	n.Defer("first", func() error { order = append(order, "first"); return nil })
	n.Defer("second", func() error { order = append(order, "second"); return errors.New("boom") })
	n.Defer("third", func() error { order = append(order, "third"); return nil })

	err := n.Cleanup()
	assert.Equal(t, []string{"third", "second", "first"}, order)
	assert.ErrorContains(t, err, "cleanup second: boom")
	assert.NoError(t, n.Cleanup(), "a second cleanup has nothing left to undo")
	assert.Equal(t, 3, strings.Count(out.String(), "cleanup: "))
}

func TestBeatWithoutPauseRunsStraightThrough(t *testing.T) {
	var out bytes.Buffer
	n := New(&out, nil, false)
	require.NoError(t, n.Beat(context.Background(), "one", "what happens"))
	require.NoError(t, n.Beat(context.Background(), "two"))
	assert.Contains(t, out.String(), "--- 1. one\n    what happens\n")
	assert.Contains(t, out.String(), "--- 2. two\n")
	assert.NotContains(t, out.String(), "[Enter]")
}

func TestPauseWaitsForEnterAndStopsOnCancel(t *testing.T) {
	r, w := io.Pipe()
	var out bytes.Buffer
	n := New(&out, r, true)
	done := make(chan error)
	go func() { done <- n.Beat(context.Background(), "waits") }()
	select {
	case err := <-done:
		t.Fatalf("Beat returned before Enter: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	w.Write([]byte("\n"))
	require.NoError(t, <-done)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- n.Beat(ctx, "interrupted") }()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestEvidenceIndentsOutput(t *testing.T) {
	var out bytes.Buffer
	New(&out, nil, false).Evidence("jail", "ls /", "bin\netc\n")
	assert.Equal(t, "    jail $ ls /\n      | bin\n      | etc\n", out.String())
}
