package resp

// nbio is github.com/lesismal/nbio as its README and examples write a
// server for a framed protocol: an OnData handler that keeps what it
// cannot use yet in a per-connection session (Conn.SetSession), appends
// the next data to it, decodes the complete requests and writes their
// replies with Conn.Write, which sends at once and copies what the socket
// does not take. data is valid only during OnData, so a command cut short
// is copied into the session.
//
// The session is made by the first OnData rather than in OnOpen: nbio
// runs OnOpen on the poller that accepted the connection and OnData on the
// one that owns it, ordered by the epoll registration between them, which
// the race detector cannot see. Made in OnData, the session is only ever
// touched by the owning poller (OnWrittenSize runs there too).
//
// A reply that ends the connection (QUIT, a protocol error) must reach the
// client before the close, and nbio's Close drops writes still buffered:
// the session counts the bytes written but not yet sent, through the
// engine's OnWrittenSize, and the connection is closed once they are.

import (
	"github.com/lesismal/nbio"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

// nbioSession is one connection's state.
type nbioSession struct {
	pending []byte // the start of a command still arriving
	unsent  int    // bytes given to Write and not yet sent
	closing bool   // close once unsent is 0
}

func startNbio(addr string, db *Store) (Server, error) {
	return started(peer.StartNbio(addr, func(e *nbio.Engine) {
		e.OnData(func(c *nbio.Conn, data []byte) { nbioServe(c, data, db) })
		e.OnWrittenSize(func(c *nbio.Conn, _ []byte, n int) {
			s, _ := c.Session().(*nbioSession)
			if s == nil {
				return
			}
			s.unsent -= n
			if s.closing && s.unsent == 0 {
				// OnWrittenSize runs holding the connection's lock,
				// which Close takes: close from another goroutine.
				go c.Close()
			}
		})
	}))
}

// nbioServe serves data, which follows s.pending.
func nbioServe(c *nbio.Conn, data []byte, db *Store) {
	s, _ := c.Session().(*nbioSession)
	if s == nil {
		s = &nbioSession{}
		c.SetSession(s)
	}
	if s.closing {
		return
	}
	in := data
	if len(s.pending) > 0 {
		s.pending = append(s.pending, data...)
		in = s.pending
	}
	ob := getOut()
	consumed, out, closeAfter, err := serveAll(db, in, *ob, func(b []byte) error {
		s.unsent += len(b)
		_, err := c.Write(b)
		return err
	})
	putOut(ob, out)
	if err != nil {
		return // Write closed the connection
	}
	if closeAfter {
		s.closing = true
		if s.unsent == 0 {
			_ = c.Close()
		}
		return
	}
	rest := in[consumed:]
	switch {
	case len(rest) == 0 && cap(s.pending) > maxIdleBuf:
		s.pending = nil
	case len(rest) == 0:
		s.pending = s.pending[:0]
	case len(s.pending) > 0:
		s.pending = s.pending[:copy(s.pending, rest)]
	default:
		s.pending = append(s.pending[:0], rest...)
	}
}
