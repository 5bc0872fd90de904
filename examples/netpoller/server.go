//go:build unix

package main

// This file is the "framework": a line server that owns its descriptors
// and does its own system calls, and knows metal only through the Reactor.
//
// Each connection is served by one function, lineConn.serve, which the
// reactor calls when the socket is readable and, after a write hit
// EAGAIN, when it is writable again. serve loops: write what is pending;
// if the kernel will not take it all, ask for a writable callback and
// return without reading (so a client that does not read its answers
// costs one buffer, not memory without bound); otherwise read, answer the
// complete lines, and go round until the read says EAGAIN.

import (
	"log"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// lineServer accepts connections on its listening socket and serves each
// with a lineConn.
type lineServer struct {
	r    *Reactor
	lfd  int
	addr netip.AddrPort

	mu    sync.Mutex
	conns map[int]*lineConn // open connections, to close on the way out
}

// serveLines listens on addr and serves connections with callbacks that r
// runs.
func serveLines(r *Reactor, addr string) (*lineServer, error) {
	lfd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	s := &lineServer{r: r, lfd: lfd, addr: bound, conns: make(map[int]*lineConn)}
	if err := r.Watch(lfd, s.onAccept); err != nil {
		unix.Close(lfd)
		return nil, err
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *lineServer) Addr() netip.AddrPort { return s.addr }

// onAccept is the listener's readable callback: it accepts until the
// backlog is empty, and watches each new connection.
func (s *lineServer) onAccept() {
	for {
		fd, err := sysx.IgnoringEINTRIO(func() (int, error) { return accept(s.lfd) })
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.ECONNABORTED:
			continue // reset while it waited in the backlog
		case err != nil:
			// Out of descriptors, most likely. The connections still in
			// the backlog wait for the next one to arrive, whose edge
			// calls us again; a framework with timers would retry sooner.
			log.Printf("netpoller: accept: %v", err)
			return
		}
		// As Go's net does: no Nagle delay for small answers. (With it, an
		// answer written while the previous one is unacknowledged waits
		// for the client's delayed ACK.)
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &lineConn{s: s, fd: fd}
		s.mu.Lock()
		s.conns[fd] = c
		s.mu.Unlock()
		if err := s.r.Watch(fd, c.serve); err != nil {
			// The reactor is closing: we are on the way out.
			s.forget(fd)
			unix.Close(fd)
		}
	}
}

func (s *lineServer) forget(fd int) {
	s.mu.Lock()
	delete(s.conns, fd)
	s.mu.Unlock()
}

// closeAll closes the listening socket and every open connection. Call it
// after the reactor is closed, when no callback runs.
func (s *lineServer) closeAll() {
	unix.Close(s.lfd)
	s.mu.Lock()
	defer s.mu.Unlock()
	for fd := range s.conns {
		unix.Close(fd)
		delete(s.conns, fd)
	}
}

// lineConn is one client. Only its own callbacks touch it, one at a time.
type lineConn struct {
	s  *lineServer
	fd int

	lines lineBuffer
	out   []byte // answers; out[sent:] is still to be written
	sent  int

	refused bool // a line was too long: answer nothing more, discard input
	shut    bool // refused, and the writing side is shut down
	eof     bool // the client shut down its side
}

// serve is the connection's readable and writable callback.
func (c *lineConn) serve() {
	for {
		if c.sent < len(c.out) {
			n, err := sysx.IgnoringEINTRIO(func() (int, error) { return unix.Write(c.fd, c.out[c.sent:]) })
			switch {
			case err == unix.EAGAIN:
				// The client is not reading fast enough: stop reading
				// until it has made room.
				if err := c.s.r.NotifyWritable(c.fd, c.serve); err != nil {
					c.close()
				}
				return
			case err != nil: // EPIPE, ECONNRESET: the client is gone
				c.close()
				return
			}
			c.sent += n
			if c.sent == len(c.out) {
				c.out, c.sent = c.out[:0], 0
			}
			continue
		}
		if c.refused && !c.shut {
			c.shut = true
			_ = unix.Shutdown(c.fd, unix.SHUT_WR)
		}
		if c.eof {
			c.close()
			return
		}

		buf := c.lines.space()
		if c.refused {
			buf = c.lines.in[:] // discarded
		}
		n, err := sysx.IgnoringEINTRIO(func() (int, error) { return unix.Read(c.fd, buf) })
		switch {
		case err == unix.EAGAIN:
			return // drained; the next edge calls again
		case err != nil: // ECONNRESET
			c.close()
			return
		case n == 0:
			c.eof = true
			if !c.refused {
				c.out = c.lines.rest(c.out)
			}
			continue
		}
		if !c.refused {
			var ok bool
			c.out, ok = c.lines.wrote(n, c.out)
			c.refused = !ok
		}
	}
}

// close unwatches and closes the connection. It runs in one of the
// connection's own callbacks, so nothing of this fd's runs afterwards and
// closing it at once is safe.
func (c *lineConn) close() {
	c.s.forget(c.fd)
	_ = c.s.r.Unwatch(c.fd) // returns once the fd is deregistered
	unix.Close(c.fd)
}
