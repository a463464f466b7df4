package engine

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// The monitor's socket speaks a small protocol. A client opens a
// connection and writes one JSON line, a request; what follows depends on
// its Op:
//
//	attach  the client then sends stdin as raw bytes (closing its write side
//	        at EOF); the monitor sends frames until the container ends, the
//	        last one the exit status.
//	wait    the monitor answers one JSON line, a WaitResponse, when the
//	        container exits ("next-exit") or is removed ("removed").
//	resize  the monitor resizes the terminal and closes the connection.
//
// A frame is Docker's stream multiplexing (the raw-stream format of
// POST /containers/{id}/attach): 8 bytes of header, the stream in the first
// and the payload's length big-endian in the last four, then the payload.
type request struct {
	Op        string
	Stdin     bool `json:",omitempty"`
	Stdout    bool `json:",omitempty"`
	Stderr    bool `json:",omitempty"`
	Condition WaitCondition
	Height    uint `json:",omitempty"`
	Width     uint `json:",omitempty"`
}

// Stream numbers in a frame's header: Docker's 0, 1 and 2, and berth's own
// 3 for the exit status that ends an attachment.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamExit   = 3
)

func writeFrame(w io.Writer, stream byte, p []byte) error {
	var h [8]byte
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// maxFrame bounds a frame a reader accepts: the monitor never sends more
// than its read buffer at once.
const maxFrame = 1 << 20

func readFrame(r *bufio.Reader, buf []byte) (stream byte, p []byte, err error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("engine: a frame of %d bytes from the monitor: the stream is corrupt", n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(r, buf)
	return h[0], buf, err
}

func writeRequest(w io.Writer, r request) error {
	b, _ := json.Marshal(r)
	_, err := w.Write(append(b, '\n'))
	return err
}
