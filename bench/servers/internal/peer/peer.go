// Package peer holds the plumbing every bench server shares: how each
// library is started with as many loops (or workers) as GOMAXPROCS, told
// where it listens, and stopped. The packages echo, resp and http give each
// library only its handler.
//
// Every Start function returns once the server accepts connections, with
// the address the kernel bound (port 0 picks a free port).
package peer

import (
	"net"
	"time"
)

// ShutdownTimeout bounds the wait for a library's loops to stop.
const ShutdownTimeout = 5 * time.Second

// Server is a server that is serving: its address and how to stop it.
type Server struct {
	addr net.Addr
	stop func() error
}

// New returns the Server of a library started elsewhere: the address it
// listens on and how to stop it.
func New(addr net.Addr, stop func() error) *Server { return &Server{addr: addr, stop: stop} }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the server: the listener and every connection are closed
// (some libraries close connections when they next become idle) and its
// loops end. Call it once.
func (s *Server) Close() error { return s.stop() }
