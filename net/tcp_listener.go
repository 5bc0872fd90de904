package net

import (
	"net/netip"

	stdnet "net"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
)

// TCPListener is a non-blocking TCP socket listening for connections, the
// counterpart of mio's TcpListener. It is a poller.Source: register it
// Readable and call Accept until it returns poller.ErrWouldBlock each time
// an event arrives.
//
// A TCPListener is safe for concurrent use. Close it when done; deregister
// it first if it is registered (see poller.Source).
type TCPListener struct {
	s *sock
}

// ListenConfig holds the options for opening a listening or bound socket.
// The zero value is what ListenTCP and BindUDP use.
type ListenConfig struct {
	// Runtime is the runtime whose I/O driver Listen registers the
	// listener with; nil means the default runtime (DefaultRuntime). The
	// raw ListenTCP and BindUDP ignore it.
	Runtime *runtime.Runtime
	// ReusePort sets SO_REUSEPORT before binding, so that several sockets
	// (in this process or others) can bind the same address and the kernel
	// spreads connections or datagrams across them. Every socket sharing
	// the address must set it.
	ReusePort bool
	// Backlog is the length of the queue of connections not yet accepted.
	// Zero or less means 1024; the kernel caps it at its own maximum
	// (somaxconn).
	Backlog int
}

// ListenTCP opens a TCP listener on addr with SO_REUSEADDR set and the
// default backlog. Port 0 picks a free port; LocalAddr tells which.
func ListenTCP(addr netip.AddrPort) (*TCPListener, error) {
	return ListenConfig{}.ListenTCP(addr)
}

// ListenTCP opens a TCP listener on addr with SO_REUSEADDR and the options
// in c.
func (c ListenConfig) ListenTCP(addr netip.AddrPort) (*TCPListener, error) {
	s, err := listenTCP(addr, c.ReusePort, c.Backlog)
	if err != nil {
		return nil, err
	}
	return &TCPListener{s: s}, nil
}

// TCPListenerFromStd takes over the socket of a standard-library listener
// and closes l. See TCPStreamFromStd for how and why.
func TCPListenerFromStd(l *stdnet.TCPListener) (*TCPListener, error) {
	if l == nil {
		return nil, errNilStd
	}
	s, err := adoptStd(l)
	if err != nil {
		return nil, err
	}
	return &TCPListener{s: s}, nil
}

func (l *TCPListener) sock() *sock {
	if l == nil {
		return nil
	}
	return l.s
}

// Accept takes one pending connection, returning it as a non-blocking,
// close-on-exec TCPStream with the peer's address. With none pending it
// returns poller.ErrWouldBlock. An error such as ECONNABORTED (a
// connection reset while it waited in the queue) concerns that connection
// only: accept again.
func (l *TCPListener) Accept() (*TCPStream, netip.AddrPort, error) {
	s, addr, err := l.sock().acceptInet()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return &TCPStream{s: s}, addr, nil
}

// LocalAddr returns the address the listener is bound to.
func (l *TCPListener) LocalAddr() (netip.AddrPort, error) { return l.sock().localAddrPort() }

// SetTTL sets the time-to-live (IP_TTL; the unicast hop limit on an IPv6
// socket) of the connections it accepts.
func (l *TCPListener) SetTTL(ttl int) error { return l.sock().setTTL(ttl) }

// TTL returns the value SetTTL sets.
func (l *TCPListener) TTL() (int, error) { return l.sock().ttl() }

// TakeError returns and clears the socket's pending error (SO_ERROR); nil
// when there is none.
func (l *TCPListener) TakeError() error { return l.sock().takeError() }

// Close closes the listener. Connections already accepted stay open;
// pending ones are reset. A second Close returns an error matching
// net.ErrClosed, as does every other method after Close.
func (l *TCPListener) Close() error { return l.sock().close() }

// Register implements poller.Source.
func (l *TCPListener) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return l.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (l *TCPListener) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return l.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (l *TCPListener) Deregister(r *poller.Registry) error { return l.sock().Deregister(r) }
