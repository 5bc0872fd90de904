//go:build unix

package net

import (
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
	"github.com/metalio/metal/poller"
)

// UnixDatagram is a non-blocking Unix-domain datagram socket
// (mio::net::UnixDatagram). It is a poller.Source; its descriptor is
// O_NONBLOCK and FD_CLOEXEC from birth.
//
// Datagrams keep their boundaries and are never split: a Send or SendTo
// delivers all of p or fails, and a Recv or RecvFrom returns one datagram,
// cut to the buffer's length if it is too long (the rest is lost). An empty
// datagram is a datagram: it makes the receiver readable and Recv returns
// 0, nil for it, never io.EOF.
//
// Unix-domain datagrams are reliable on the local host: a receiver with a
// full queue makes the sender wait (poller.ErrWouldBlock), not drop.
//
// There is no connection to lose: on Linux the Close of a connected peer
// raises no event here; the next Send fails with ECONNREFUSED.
//
// Closing the socket does not remove a file it was bound to; remove it
// yourself (os.Remove).
type UnixDatagram struct {
	s *sock
}

// BindUnixDatagram opens a datagram socket bound to path ("@name" for
// Linux's abstract namespace), so that others can SendTo it and it can
// receive replies.
func BindUnixDatagram(path string) (*UnixDatagram, error) {
	sa, err := udsSockaddr("bind", path)
	if err != nil {
		return nil, err
	}
	s, err := newSocket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return nil, udsOpErr("bind", path, err)
	}
	if err := s.bind(sa); err != nil {
		s.close()
		return nil, udsOpErr("bind", path, err)
	}
	return &UnixDatagram{s: s}, nil
}

// UnboundUnixDatagram opens a datagram socket bound to no path. It can send
// to bound sockets; they see it as "" in RecvFrom and cannot answer it,
// unless it is connected to them (see Connect) and they to it.
func UnboundUnixDatagram() (*UnixDatagram, error) {
	s, err := newSocket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return nil, err
	}
	return &UnixDatagram{s: s}, nil
}

// UnixDatagramPair returns two unnamed datagram sockets connected to each
// other (socketpair(2)).
func UnixDatagramPair() (*UnixDatagram, *UnixDatagram, error) {
	a, b, err := udsSocketpair(unix.SOCK_DGRAM)
	if err != nil {
		return nil, nil, err
	}
	return &UnixDatagram{s: a}, &UnixDatagram{s: b}, nil
}

// Connect sets the socket's default destination to path: Send sends there,
// and only datagrams from there are received. Unlike a stream connect it
// completes at once. It fails with ENOENT or ECONNREFUSED when nothing is
// bound at path.
func (d *UnixDatagram) Connect(path string) error {
	sa, err := udsSockaddr("connect", path)
	if err != nil {
		return err
	}
	return udsOpErr("connect", path, d.sock().connect(sa))
}

// SendTo sends p as one datagram to the socket bound to path and returns
// len(p). It returns poller.ErrWouldBlock when the receiver's queue is full.
// It allocates the kernel address for path.
func (d *UnixDatagram) SendTo(p []byte, path string) (int, error) {
	sa, err := udsSockaddr("sendto", path)
	if err != nil {
		return 0, err
	}
	s := d.sock()
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	err = sysx.IgnoringEINTR(func() error { return unix.Sendto(s.fd, p, 0, sa) })
	if err != nil {
		return 0, udsOpErr("sendto", path, ioErr("sendto", err))
	}
	return len(p), nil
}

// Send sends p as one datagram to the connected peer and returns len(p).
// It returns poller.ErrWouldBlock when the peer's queue is full, and EPIPE
// after Shutdown(ShutdownWrite).
func (d *UnixDatagram) Send(p []byte) (int, error) {
	s := d.sock()
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	err := sysx.IgnoringEINTR(func() error { return unix.Sendto(s.fd, p, 0, nil) })
	if err != nil {
		return 0, ioErr("send", err)
	}
	return len(p), nil
}

// RecvFrom receives one datagram into p and returns its length and the path
// of the socket that sent it ("" if that socket is unbound or was made by
// UnixDatagramPair). It returns poller.ErrWouldBlock when none is queued.
//
// On Linux RecvFrom allocates only the sender's path, and only when there
// is one; on macOS and the BSDs it also allocates the sender's address.
func (d *UnixDatagram) RecvFrom(p []byte) (int, string, error) {
	s := d.sock()
	if err := s.acquire(); err != nil {
		return 0, "", err
	}
	defer s.release()
	n, from, err := udsRecvfrom(s.fd, p)
	if err != nil {
		return 0, "", ioErr("recvfrom", err)
	}
	return n, from, nil
}

// Recv receives one datagram into p and returns its length (0 for an empty
// datagram). It returns poller.ErrWouldBlock when none is queued. Give p
// room for the longest datagram expected: the rest of a longer one is
// discarded. Recv allocates nothing.
func (d *UnixDatagram) Recv(p []byte) (int, error) {
	s := d.sock()
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return unix.Read(s.fd, p) })
	if err != nil {
		return 0, ioErr("recv", err)
	}
	return n, nil
}

// Shutdown closes the receiving half, the sending half or both: the socket
// then reports read-closed or write-closed, and Send fails with EPIPE.
func (d *UnixDatagram) Shutdown(how ShutdownHow) error { return d.sock().shutdown(how) }

// LocalAddr returns the path the socket is bound to, or "".
func (d *UnixDatagram) LocalAddr() (string, error) { return udsLocalPath(d.sock()) }

// PeerAddr returns the path of the connected peer ("" for an unbound peer or
// one made by UnixDatagramPair); ENOTCONN when not connected.
func (d *UnixDatagram) PeerAddr() (string, error) { return udsPeerPath(d.sock()) }

// TakeError returns and clears the socket's pending error (SO_ERROR).
func (d *UnixDatagram) TakeError() error { return d.sock().takeError() }

// Close closes the socket; a bound path's file stays. A second Close
// returns net.ErrClosed.
func (d *UnixDatagram) Close() error { return d.sock().close() }

// Register implements poller.Source.
func (d *UnixDatagram) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return d.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (d *UnixDatagram) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return d.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (d *UnixDatagram) Deregister(r *poller.Registry) error { return d.sock().Deregister(r) }

// sock returns the descriptor under the socket; nil (which every sock method
// treats as closed) for a nil or zero UnixDatagram.
func (d *UnixDatagram) sock() *sock {
	if d == nil {
		return nil
	}
	return d.s
}
