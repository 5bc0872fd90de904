package net

import (
	"github.com/metalio/metal/task"
)

// Default watermarks of a BufWriter.
const (
	DefaultLowWatermark  = 16 << 10
	DefaultHighWatermark = 64 << 10
)

// BufWriter gathers a task's small writes to a Conn into fewer system
// calls, with back-pressure: it never holds more than its high watermark.
// Once it holds that much, PollWrite returns pending until the peer has
// taken enough for the buffer to drain to the low watermark, so a peer
// that reads slowly slows the task that writes to it, and the memory a
// connection costs stays bounded whatever the peer does.
//
// It is what gnet-style AsyncWrite does without the unbounded queue. A
// BufWriter belongs to one task; call PollFlush before waiting on
// anything else, or the buffered bytes wait too.
type BufWriter struct {
	c         *Conn
	buf       []byte // buf[off:] is still to be written
	off       int
	low, high int
	// draining is set when the buffer reached high and cleared when it
	// drains to low: the hysteresis that keeps a writer from waking for
	// every few bytes of room.
	draining bool
}

// NewBufWriter returns a BufWriter for c with the given watermarks; zero
// or less picks the defaults, and low is capped at high.
func NewBufWriter(c *Conn, low, high int) *BufWriter {
	if high <= 0 {
		high = DefaultHighWatermark
	}
	if low <= 0 {
		low = DefaultLowWatermark
	}
	low = min(low, high)
	return &BufWriter{c: c, low: low, high: high}
}

// Buffered returns the number of bytes held and not yet written.
func (w *BufWriter) Buffered() int { return len(w.buf) - w.off }

// PollWrite takes as much of p as fits under the high watermark (at least
// one byte when p is not empty), or returns false while the buffer drains
// to the low watermark. Taken bytes are written by later PollWrite and
// PollFlush calls, or at once when the buffer was empty and the kernel
// has room.
func (w *BufWriter) PollWrite(cx *task.Context, p []byte) (task.Result[int], bool) {
	if len(p) == 0 {
		return task.Result[int]{}, true
	}
	if w.draining || w.Buffered() >= w.high {
		w.draining = true
		if err, ok := w.drainTo(cx, w.low); !ok || err != nil {
			return task.Result[int]{Err: err}, ok
		}
		w.draining = false
	}
	taken := 0
	if w.Buffered() == 0 {
		// Nothing queued: straight to the kernel, buffering only the rest.
		res, ok := w.c.PollWrite(cx, p)
		if ok {
			if res.Err != nil {
				return res, true
			}
			taken = res.Value
		}
		if taken == len(p) {
			return res, true
		}
	}
	room := w.high - w.Buffered()
	n := min(room, len(p)-taken)
	if w.off > 0 && len(w.buf)+n > cap(w.buf) {
		// Slide the unwritten part down before growing.
		w.buf = w.buf[:copy(w.buf, w.buf[w.off:])]
		w.off = 0
	}
	w.buf = append(w.buf, p[taken:taken+n]...)
	if w.Buffered() >= w.high {
		w.draining = true
	}
	return task.Result[int]{Value: taken + n}, true
}

// PollFlush writes everything buffered, or returns false until the kernel
// has taken it.
func (w *BufWriter) PollFlush(cx *task.Context) (error, bool) {
	err, ok := w.drainTo(cx, 0)
	if ok && err == nil {
		w.draining = false
	}
	return err, ok
}

// drainTo writes until at most target bytes are buffered.
func (w *BufWriter) drainTo(cx *task.Context, target int) (error, bool) {
	for w.Buffered() > target {
		res, ok := w.c.PollWrite(cx, w.buf[w.off:])
		if !ok {
			return nil, false
		}
		w.off += res.Value
		if res.Err != nil {
			return res.Err, true
		}
	}
	if w.off == len(w.buf) {
		w.buf, w.off = w.buf[:0], 0
	}
	return nil, true
}
