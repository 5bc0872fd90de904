package net

import (
	"net/netip"
	"time"

	stdnet "net"

	"github.com/metalio/metal/poller"
)

// TCPStream is a non-blocking TCP connection, the counterpart of mio's
// TcpStream. It is a poller.Source; Read and Write return
// poller.ErrWouldBlock instead of waiting.
//
// # Connecting
//
// ConnectTCP returns before the connection is made. Register the stream
// Writable and wait for its event; then TakeError says whether the connect
// failed (ECONNREFUSED, say) and PeerAddr, which returns ENOTCONN until the
// connection is up, confirms it:
//
//	s, _ := net.ConnectTCP(addr)
//	registry.Register(s, tok, poller.Readable|poller.Writable)
//	// ... a writable (or error) event for tok arrives ...
//	if err := s.TakeError(); err != nil { /* the connect failed */ }
//	if _, err := s.PeerAddr(); err != nil { /* not connected (yet) */ }
//
// # Draining readiness
//
// With an edge-triggered registration, read after a readable event until
// Read returns poller.ErrWouldBlock (or io.EOF), and write after a writable
// event until Write writes short or returns poller.ErrWouldBlock; only then
// will a new event come.
//
// A TCPStream is safe for concurrent use; Close may race with Read and
// Write without any of them touching a reused descriptor.
type TCPStream struct {
	s *sock
}

// ConnectTCP starts connecting to addr and returns at once; see "Connecting"
// above for how to learn the outcome. A connect refused at once (possible on
// some systems for loopback) comes back as the error.
func ConnectTCP(addr netip.AddrPort) (*TCPStream, error) {
	s, err := connectTCP(addr)
	if err != nil {
		return nil, err
	}
	return &TCPStream{s: s}, nil
}

// TCPStreamFromStd takes over the socket of a standard-library connection
// and closes c.
//
// It duplicates c's descriptor with fcntl(F_DUPFD_CLOEXEC) onto a number of
// 3 or more, makes the duplicate non-blocking, and closes c, so that the
// returned stream holds the only descriptor of the socket. The connection
// itself stays open, with any data already queued.
//
// Closing c matters. epoll watches an open file description, not a
// descriptor number, and a description stays in an epoll set until every
// descriptor of it is closed (mio issue 361). Were c left open, its
// descriptor would stay registered with Go's own poller, which would keep
// receiving the socket's events, and closing the TCPStream would not remove
// the socket from metal's poller either: events would keep arriving for a
// stream already closed. With c closed there is exactly one descriptor, and
// closing it deregisters the socket everywhere.
//
// The duplicate shares the O_NONBLOCK flag with c (it lives in the
// description); Go's sockets are non-blocking already, so nothing changes.
// On error c is left open and untouched.
func TCPStreamFromStd(c *stdnet.TCPConn) (*TCPStream, error) {
	if c == nil {
		return nil, errNilStd
	}
	s, err := adoptStd(c)
	if err != nil {
		return nil, err
	}
	return &TCPStream{s: s}, nil
}

func (c *TCPStream) sock() *sock {
	if c == nil {
		return nil
	}
	return c.s
}

// Read reads up to len(p) bytes. It returns poller.ErrWouldBlock when
// nothing is there and io.EOF at the end of the stream. It never allocates.
func (c *TCPStream) Read(p []byte) (int, error) { return c.sock().read(p) }

// Write writes from p, returning how much the send buffer took: fewer than
// len(p) bytes with a nil error when it filled, poller.ErrWouldBlock when it
// was full already. It never allocates.
func (c *TCPStream) Write(p []byte) (int, error) { return c.sock().write(p) }

// ReadV reads into the buffers in turn with one system call (readv). It
// returns poller.ErrWouldBlock and io.EOF as Read does and allocates nothing
// for up to eight buffers.
func (c *TCPStream) ReadV(bufs [][]byte) (int, error) { return c.sock().readv(bufs) }

// WriteV writes the buffers in turn with one system call (writev),
// returning the total written. It allocates nothing for up to eight
// buffers.
func (c *TCPStream) WriteV(bufs [][]byte) (int, error) { return c.sock().writev(bufs) }

// Peek reads like Read but leaves the data in the receive queue.
func (c *TCPStream) Peek(p []byte) (int, error) { return c.sock().peek(p) }

// Shutdown closes the reading half, the writing half, or both. After
// ShutdownWrite the peer reads end of stream and writes here fail with
// EPIPE. After ShutdownRead reads return io.EOF once the data already
// received is gone: Linux still hands that data out, the BSDs discard it.
// Either way the stream reports read-closed.
func (c *TCPStream) Shutdown(how ShutdownHow) error { return c.sock().shutdown(how) }

// SetNoDelay sets TCP_NODELAY: true sends small writes at once instead of
// coalescing them (Nagle's algorithm).
func (c *TCPStream) SetNoDelay(on bool) error { return c.sock().setNoDelay(on) }

// NoDelay returns the value of TCP_NODELAY.
func (c *TCPStream) NoDelay() (bool, error) { return c.sock().noDelay() }

// SetKeepAlive turns TCP keep-alive probes (SO_KEEPALIVE) on or off.
func (c *TCPStream) SetKeepAlive(on bool) error { return c.sock().setKeepAlive(on) }

// KeepAlive returns the value of SO_KEEPALIVE.
func (c *TCPStream) KeepAlive() (bool, error) { return c.sock().keepAlive() }

// SetKeepAlivePeriod sets how long the connection sits idle before the
// first keep-alive probe, rounded up to whole seconds (TCP_KEEPIDLE on
// Linux, FreeBSD, NetBSD and DragonFly, TCP_KEEPALIVE on macOS). OpenBSD
// has no per-socket setting: there it returns an error matching
// errors.ErrUnsupported. It does not turn keep-alive on; SetKeepAlive does.
func (c *TCPStream) SetKeepAlivePeriod(d time.Duration) error {
	return c.sock().setKeepAlivePeriod(d)
}

// SetLinger sets SO_LINGER as Go's net.TCPConn does. sec < 0 (the
// default) lets Close return at once while the kernel sends what is left
// in the background. sec == 0 makes Close discard unsent data and reset
// the connection (the peer sees ECONNRESET). sec > 0 makes Close wait up to
// sec seconds for unsent data to go out; Linux blocks in Close for that
// even though the socket is non-blocking, so a positive linger is rarely
// what an event loop wants.
func (c *TCPStream) SetLinger(sec int) error { return c.sock().setLinger(sec) }

// Linger returns the SO_LINGER time in seconds, or -1 when lingering is
// off.
func (c *TCPStream) Linger() (int, error) { return c.sock().linger() }

// SetTTL sets the time-to-live of outgoing packets (IP_TTL; the unicast hop
// limit on an IPv6 socket).
func (c *TCPStream) SetTTL(ttl int) error { return c.sock().setTTL(ttl) }

// TTL returns the value SetTTL sets.
func (c *TCPStream) TTL() (int, error) { return c.sock().ttl() }

// LocalAddr returns the stream's own address.
func (c *TCPStream) LocalAddr() (netip.AddrPort, error) { return c.sock().localAddrPort() }

// PeerAddr returns the address of the peer. Until a connect has completed
// (or after it failed) it returns an error matching syscall.ENOTCONN.
func (c *TCPStream) PeerAddr() (netip.AddrPort, error) { return c.sock().peerAddrPort() }

// TakeError returns and clears the socket's pending error (SO_ERROR): after
// a connect, why it failed; later, why the connection broke. nil when there
// is none. The error matches the errno with errors.Is.
func (c *TCPStream) TakeError() error { return c.sock().takeError() }

// Close closes the stream. Unsent data is still delivered in the background
// unless SetLinger(0) was called. A second Close returns an error matching
// net.ErrClosed, as does every other method after Close.
func (c *TCPStream) Close() error { return c.sock().close() }

// Register implements poller.Source.
func (c *TCPStream) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return c.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (c *TCPStream) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return c.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (c *TCPStream) Deregister(r *poller.Registry) error { return c.sock().Deregister(r) }
