package main

// The task-based server: an accept-loop task spawns one task per
// connection. A connection task is a hand-written future that alternates
// between writing out everything its exchange produced and reading the
// next bytes in, and returns pending whenever the socket would block.

import (
	"errors"
	"log"
	"net"
	"time"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

const (
	// idleTimeout closes a connection that moves no byte for this long:
	// an idle keep-alive connection, or a client that stalls mid-request.
	idleTimeout = 60 * time.Second
	// lingerTimeout bounds the wait for the client's end of stream after
	// this side shut down its writing half on close; see httpConn.
	lingerTimeout = 2 * time.Second
	// acceptBackoff is the pause after an accept error other than the
	// listener closing (out of descriptors, say).
	acceptBackoff = 50 * time.Millisecond
)

// acceptLoop is the task that accepts connections and spawns a task for
// each. It ends, with a nil result, when the listener is closed.
type acceptLoop struct {
	rt      *runtime.Runtime
	ln      *metalnet.Listener
	backoff task.Future[struct{}] // the pause after an accept error, if any
}

// Poll accepts until nothing is pending.
func (a *acceptLoop) Poll(cx *task.Context) (error, bool) {
	for {
		if a.backoff != nil {
			if _, ok := a.backoff.Poll(cx); !ok {
				return nil, false
			}
			a.backoff = nil
		}
		r, ok := a.ln.PollAccept(cx)
		if !ok {
			return nil, false
		}
		if r.Err != nil {
			if errors.Is(r.Err, net.ErrClosed) {
				return nil, true
			}
			log.Printf("http: accept: %v", r.Err)
			a.backoff = runtime.Sleep(acceptBackoff)
			continue
		}
		runtime.GoFrom(a.rt, cx, newHTTPConn(r.Value))
	}
}

// Drop stops a pause under way when the runtime cancels the loop.
func (a *acceptLoop) Drop() {
	if a.backoff != nil {
		task.Drop(a.backoff)
	}
}

// httpConn is the task of one connection.
//
// When the exchange says the connection must close (Connection: close,
// HTTP/1.0, a refused request), the task writes the last responses, shuts
// down its writing half and reads (discarding) until the client's end of
// stream, for at most lingerTimeout, before closing. Closing at once
// could reset the connection while the client still had unread bytes of
// the last response: unread input at close makes the kernel send a reset.
type httpConn struct {
	conn      *metalnet.Conn
	x         *exchange
	woff      int  // how much of x.out the kernel has
	lingering bool // write side shut down: reading to end of stream
	done      bool
}

// newHTTPConn returns the task for a new connection.
func newHTTPConn(c *metalnet.Conn) *httpConn {
	c.SetIdleTimeout(idleTimeout)
	return &httpConn{conn: c, x: newExchange(httpDate)}
}

// Poll moves bytes until the socket would block, and finishes when the
// connection is over.
func (c *httpConn) Poll(cx *task.Context) (struct{}, bool) {
	for !c.done {
		if c.lingering {
			r, ok := c.conn.PollRead(cx, c.x.in[:cap(c.x.in)])
			if !ok {
				return struct{}{}, false
			}
			if r.Err != nil { // end of stream, an error, or the deadline
				c.close()
			}
			continue
		}
		if c.woff < len(c.x.out) {
			r, ok := c.conn.PollWrite(cx, c.x.out[c.woff:])
			if !ok {
				return struct{}{}, false
			}
			if r.Err != nil {
				c.close()
				continue
			}
			c.woff += r.Value
			continue
		}
		c.x.out, c.woff = c.x.out[:0], 0
		if c.x.closing {
			c.lingering = true
			_ = c.conn.CloseWrite()
			c.conn.SetIdleTimeout(0)
			_ = c.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
			continue
		}
		r, ok := c.conn.PollRead(cx, c.x.space())
		if !ok {
			return struct{}{}, false
		}
		if r.Err != nil { // end of stream, a reset, or the idle timeout
			c.close()
			continue
		}
		c.x.received(r.Value)
	}
	return struct{}{}, true
}

// close closes the connection, once.
func (c *httpConn) close() {
	if !c.done {
		c.done = true
		_ = c.conn.Close()
	}
}

// Drop closes the connection of a task cancelled by the runtime's
// shutdown.
func (c *httpConn) Drop() { c.close() }
