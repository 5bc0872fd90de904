package main

// The socket side: an accept-loop task spawns one client task per
// connection. Each client task is a hand-written future that, in one Poll,
// writes what its outbox holds and reads what the client sent, and returns
// pending only when both directions would block. Broadcasts from other
// tasks append to its outbox and wake it; nothing ever waits for another
// client's socket.

import (
	"errors"
	"io"
	"log"
	"net"
	"time"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

const (
	// readSize is each client's read buffer. Lines longer than a read
	// are reassembled by the session's lineSplitter.
	readSize = 4096
	// lingerTimeout bounds a client's goodbye: sending what is still
	// queued after /quit or end of stream, then waiting for its end of
	// stream so the close does not reset the connection under unread
	// data.
	lingerTimeout = 5 * time.Second
	// acceptBackoff is how long the accept loop pauses after an accept
	// error that is not the listener closing (out of descriptors, say),
	// so it neither spins nor gives up.
	acceptBackoff = 50 * time.Millisecond
)

// acceptLoop is the task that accepts connections and spawns a client task
// for each. It ends, with a nil result, when the listener is closed.
type acceptLoop struct {
	rt   *runtime.Runtime
	ln   *metalnet.Listener
	room *room
	// backoff is the pause after an accept error, nil when not pausing.
	backoff task.Future[struct{}]
}

// Poll accepts until the listener has nothing more for now.
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
			log.Printf("chat: accept: %v", r.Err)
			a.backoff = runtime.Sleep(acceptBackoff)
			continue
		}
		runtime.GoFrom(a.rt, cx, newClient(r.Value, a.room))
	}
}

// Drop stops a pause under way when the runtime cancels the loop.
func (a *acceptLoop) Drop() {
	if a.backoff != nil {
		task.Drop(a.backoff)
	}
}

// clientPhase is where a client connection is in its life.
type clientPhase uint8

const (
	chatting  clientPhase = iota // reading lines and writing the outbox
	flushing                     // left: sending what is still queued
	lingering                    // all sent and write side shut: reading to end of stream
	finished                     // closed
)

// client is the task of one connection.
type client struct {
	conn  *metalnet.Conn
	sess  *session
	rbuf  []byte
	wbuf  []byte // being written; swapped with the outbox when drained
	woff  int    // how much of wbuf the kernel has
	eof   bool   // the client shut its writing side
	phase clientPhase
}

// newClient returns the task for a new connection, its nick prompt queued.
func newClient(conn *metalnet.Conn, r *room) *client {
	return &client{conn: conn, sess: newSession(r), rbuf: make([]byte, readSize)}
}

// Poll moves bytes both ways until neither can move, and finishes when the
// connection is done.
func (c *client) Poll(cx *task.Context) (struct{}, bool) {
	for c.phase != finished {
		progress, ok := c.write(cx)
		if !ok {
			break
		}
		switch c.phase {
		case chatting:
			n, ok := c.read(cx)
			if n > 0 {
				c.sess.feed(c.rbuf[:n])
				progress = true
			} else if ok {
				progress = true // end of stream or an error: the phase changed
			}
			if c.sess.state == gone && c.phase == chatting {
				c.leaveChat()
			}
		case flushing:
			if c.woff == len(c.wbuf) && !progress {
				// Everything queued is sent: shut our side and wait
				// for theirs, so closing does not reset unread data.
				_ = c.conn.CloseWrite()
				c.phase = lingering
				progress = true
			}
		case lingering:
			if c.eof {
				c.close()
			} else if _, ok := c.read(cx); ok {
				progress = true
			}
		}
		if c.phase == finished {
			break
		}
		if !progress {
			return struct{}{}, false
		}
	}
	c.close()
	return struct{}{}, true
}

// write sends what the outbox holds. It reports whether anything was
// sent, and false in ok when the connection is over (a write error, or the
// outbox overflowed).
func (c *client) write(cx *task.Context) (progress, ok bool) {
	out := &c.sess.me.out
	drained := c.woff == len(c.wbuf)
	buf, overflow := out.collect(c.wbuf, drained, cx.Waker())
	if overflow {
		// This client stopped reading: drop it, so nobody else waits.
		c.sess.end(reasonTooSlow, false)
		c.close()
		return false, false
	}
	if drained {
		c.wbuf, c.woff = buf, 0
	}
	if c.woff == len(c.wbuf) {
		return false, true
	}
	r, ready := c.conn.PollWrite(cx, c.wbuf[c.woff:])
	if !ready {
		return false, true
	}
	if r.Err != nil {
		// Gone (reset, or the linger deadline passed).
		c.sess.end(reasonQuit, false)
		c.close()
		return false, false
	}
	c.woff += r.Value
	out.wrote(r.Value)
	return true, true
}

// read reads once into rbuf. It returns the bytes read, and true in ok
// when the read completed (with data, end of stream, or an error). End of
// stream or an error end the chat; in the lingering phase they finish
// the connection.
func (c *client) read(cx *task.Context) (n int, ok bool) {
	r, ready := c.conn.PollRead(cx, c.rbuf)
	if !ready {
		return 0, false
	}
	if r.Err == nil {
		return r.Value, true
	}
	if errors.Is(r.Err, io.EOF) {
		c.eof = true
	}
	switch c.phase {
	case chatting:
		// End of stream: send what is queued first (nc -N waits for it);
		// an error: the connection is gone, drop the queue.
		c.sess.end(reasonQuit, c.eof)
		if !c.eof {
			c.close()
		}
	case lingering:
		c.close()
	}
	return 0, true
}

// leaveChat moves from chatting to flushing, with a deadline for the
// goodbye.
func (c *client) leaveChat() {
	c.phase = flushing
	_ = c.conn.SetDeadline(time.Now().Add(lingerTimeout))
}

// close closes the connection, once.
func (c *client) close() {
	if c.phase == finished {
		return
	}
	c.phase = finished
	c.sess.end(reasonQuit, false)
	_ = c.conn.Close()
}

// Drop closes the connection of a task cancelled by the runtime's
// shutdown; the others are told the client left.
func (c *client) Drop() { c.close() }
