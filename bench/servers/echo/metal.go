package echo

// metal is metal's runtime as examples/echo -mode task uses it: an async
// Listener, an accept-loop task, and a task per connection whose future
// reads and writes the connection itself. An idle connection holds no
// buffer: a read borrows one from a pool and gives it back as soon as its
// echo is in the kernel, so a buffer stays with a connection only while
// its peer is not reading.

import (
	"sync"

	"github.com/metalio/metal/bench/servers/internal/peer"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/task"
)

func startMetal(addr string) (Server, error) {
	return started(peer.StartMetal(addr, func(c *metalnet.Conn) task.Future[struct{}] {
		return &metalEchoConn{c: c}
	}))
}

// metalBufs holds the read buffers connections borrow.
var metalBufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// metalEchoConn echoes one connection. It reads again only once the
// kernel has taken the previous echo, so a slow reader costs one buffer.
// It closes the connection when the peer closes its side or the
// connection fails, and when the runtime drops the task.
type metalEchoConn struct {
	c *metalnet.Conn
	// buf is the borrowed buffer while buf[off:n] waits to be written;
	// nil when every byte read has been echoed.
	buf    *[]byte
	off, n int
}

// Poll echoes until the peer closes or an error occurs.
func (e *metalEchoConn) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if e.buf != nil {
			for e.off < e.n {
				res, ok := e.c.PollWrite(cx, (*e.buf)[e.off:e.n])
				if !ok {
					return struct{}{}, false
				}
				if res.Err != nil {
					return e.finish()
				}
				e.off += res.Value
			}
		}
		// The buffer just written from serves the next read; one is
		// borrowed only when there was none.
		b := e.buf
		e.buf = nil
		if b == nil {
			b = metalBufs.Get().(*[]byte)
		}
		res, ok := e.c.PollRead(cx, *b)
		if !ok || res.Err != nil {
			metalBufs.Put(b)
			if !ok {
				return struct{}{}, false
			}
			return e.finish()
		}
		e.buf, e.off, e.n = b, 0, res.Value
	}
}

// finish closes the connection and gives back a borrowed buffer.
func (e *metalEchoConn) finish() (struct{}, bool) {
	e.Drop()
	return struct{}{}, true
}

// Drop closes the connection; the runtime calls it for a task it abandons.
func (e *metalEchoConn) Drop() {
	_ = e.c.Close()
	if e.buf != nil {
		metalBufs.Put(e.buf)
		e.buf = nil
	}
}
