package plaintext

// metal is metal's runtime as its examples/http server uses it: an async
// Listener, an accept-loop task, and a task per connection whose
// hand-written future reads requests and writes responses itself (Conn's
// PollRead and PollWrite), returning pending whenever the socket would
// block. An idle connection holds no buffer: a read borrows one from a
// pool and gives it back when it returns pending with nothing kept in it,
// and the responses' buffer is borrowed only until the kernel has them.

import (
	"sync"

	"github.com/metalio/metal/bench/servers/internal/peer"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/task"
)

var metalResponses = newResponses("metal")

// inSize is the input buffer a connection borrows. What stays in it
// between reads is a head not complete yet, less than maxHead (body bytes
// are skipped as they come), so a read always has room for at least
// inSize-maxHead bytes.
const inSize = 2 * maxHead

// inBufs holds the input buffers connections borrow.
var inBufs = sync.Pool{New: func() any { b := make([]byte, inSize); return &b }}

func startMetal(addr string) (Server, error) {
	return started(peer.StartMetal(addr, func(c *metalnet.Conn) task.Future[struct{}] {
		return &metalHTTPConn{c: c}
	}))
}

// metalHTTPConn serves one connection. It reads again only once the
// kernel has taken the responses to what it read before, so a client that
// sends without reading is held back by TCP. It closes the connection
// when the client closes its side, the connection fails or a response
// closes it, and when the runtime drops the task.
type metalHTTPConn struct {
	c *metalnet.Conn
	s session
	// in is the borrowed input buffer while (*in)[:n] holds a partial
	// request; nil otherwise, between reads.
	in *[]byte
	n  int
	// out is the borrowed buffer while (*out)[off:] waits to be written.
	out *[]byte
	off int
}

// Poll serves until the connection is over.
func (h *metalHTTPConn) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if h.out != nil {
			for h.off < len(*h.out) {
				res, ok := h.c.PollWrite(cx, (*h.out)[h.off:])
				if !ok {
					return struct{}{}, false
				}
				if res.Err != nil {
					return h.finish()
				}
				h.off += res.Value
			}
			outBufs.Put(h.out)
			h.out, h.off = nil, 0
		}
		if h.s.closing {
			return h.finish()
		}
		if h.in == nil {
			h.in = inBufs.Get().(*[]byte)
		}
		res, ok := h.c.PollRead(cx, (*h.in)[h.n:])
		if !ok {
			if h.n == 0 {
				inBufs.Put(h.in)
				h.in = nil
			}
			return struct{}{}, false
		}
		if res.Err != nil {
			return h.finish() // end of stream, a reset, or an error
		}
		h.n += res.Value
		out := outBufs.Get().(*[]byte)
		var used int
		used, *out = h.s.serve(metalResponses, (*h.in)[:h.n], (*out)[:0])
		h.n = copy(*h.in, (*h.in)[used:h.n])
		if len(*out) > 0 {
			h.out = out
		} else {
			outBufs.Put(out)
		}
	}
}

// finish closes the connection and gives back the borrowed buffers.
func (h *metalHTTPConn) finish() (struct{}, bool) {
	h.Drop()
	return struct{}{}, true
}

// Drop closes the connection; the runtime calls it for a task it abandons.
func (h *metalHTTPConn) Drop() {
	_ = h.c.Close()
	if h.in != nil {
		inBufs.Put(h.in)
		h.in = nil
	}
	if h.out != nil {
		outBufs.Put(h.out)
		h.out = nil
	}
}
