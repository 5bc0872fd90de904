//go:build unix

package net

import (
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// UnixStream is a non-blocking Unix-domain stream socket (mio::net::UnixStream),
// made by ConnectUnix, UnixStreamPair or UnixListener.Accept. It is a
// poller.Source; its descriptor is O_NONBLOCK and FD_CLOEXEC from birth.
//
//	s, err := net.ConnectUnix("/run/app.sock")
//	// register s Writable|Readable; on the first writable event it is
//	// connected (check TakeError); read and write until ErrWouldBlock.
//
// # Draining readiness
//
// Registered edge-triggered (the default), an event means readiness changed:
// after a readable event, Read until it returns poller.ErrWouldBlock (or
// io.EOF); after a writable event, Write until it does.
//
// # Closed halves
//
// The peer's Shutdown(ShutdownWrite) or Close makes the stream readable and
// read-closed: reads drain what was sent, then return io.EOF. It never makes
// the stream write-closed on its own; a Write after the peer has closed
// fails with EPIPE (or ECONNRESET).
//
// # Closing
//
// Deregister before Close. Close may race with Read or Write on other
// goroutines: the descriptor is released by the last of them, never reused
// under a call in flight. Every method after Close returns net.ErrClosed.
type UnixStream struct {
	s *sock
}

// ConnectUnix starts connecting a new stream socket to the listener bound
// to path ("@name" for Linux's abstract namespace). A Unix-domain connect
// completes at once when the listener's backlog has room, but portable code
// should register the stream Writable and treat the first writable event as
// "connected or failed", as mio does: TakeError and PeerAddr then tell.
//
// It fails with an error matching poller.ErrWouldBlock when the listener's
// backlog is full (Linux reports EAGAIN rather than waiting; macOS and the
// BSDs refuse with ECONNREFUSED), ENOENT when no file is at path,
// ECONNREFUSED when nothing listens there, and ErrPathTooLong for a path
// sockaddr_un cannot hold. The error names the path.
func ConnectUnix(path string) (*UnixStream, error) {
	sa, err := udsSockaddr("connect", path)
	if err != nil {
		return nil, err
	}
	s, err := newSocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, udsOpErr("connect", path, err)
	}
	if err := s.connect(sa); err != nil {
		s.close()
		return nil, udsOpErr("connect", path, err)
	}
	return &UnixStream{s: s}, nil
}

// UnixStreamPair returns two connected, unnamed stream sockets
// (socketpair(2)): what one writes the other reads.
func UnixStreamPair() (*UnixStream, *UnixStream, error) {
	a, b, err := udsSocketpair(unix.SOCK_STREAM)
	if err != nil {
		return nil, nil, err
	}
	return &UnixStream{s: a}, &UnixStream{s: b}, nil
}

// Read reads into p. It returns poller.ErrWouldBlock when nothing is
// buffered and io.EOF once the peer has closed or shut down its writing half
// and everything sent has been read. A zero-length p reads nothing and
// returns 0, nil. Read allocates nothing.
func (s *UnixStream) Read(p []byte) (int, error) { return s.sock().read(p) }

// Write writes p. It returns poller.ErrWouldBlock when the send buffer is
// full; a short count with a nil error means it filled part way, and the
// rest should wait for the next writable event. Write allocates nothing.
func (s *UnixStream) Write(p []byte) (int, error) { return s.sock().write(p) }

// ReadV reads into the buffers in order, with one readv(2) where the
// platform has it. Errors are as for Read.
func (s *UnixStream) ReadV(bufs [][]byte) (int, error) { return s.sock().readv(bufs) }

// WriteV writes the buffers in order, with one writev(2) where the platform
// has it. Errors are as for Write.
func (s *UnixStream) WriteV(bufs [][]byte) (int, error) { return s.sock().writev(bufs) }

// Peek reads into p what Read would, but leaves it queued for the next
// Read (recv with MSG_PEEK). It returns poller.ErrWouldBlock when nothing is
// buffered and io.EOF at end of stream.
func (s *UnixStream) Peek(p []byte) (int, error) { return s.sock().peek(p) }

// Shutdown closes the reading half, the writing half or both. After
// ShutdownWrite the peer reads io.EOF and this stream's writes fail with
// EPIPE; after ShutdownRead, Linux still delivers what was already
// buffered, while macOS and the BSDs return io.EOF at once.
func (s *UnixStream) Shutdown(how ShutdownHow) error { return s.sock().shutdown(how) }

// LocalAddr returns the path the stream is bound to: "" for a stream made by
// ConnectUnix or UnixStreamPair, the listener's path for one it accepted.
func (s *UnixStream) LocalAddr() (string, error) { return udsLocalPath(s.sock()) }

// PeerAddr returns the path of the socket at the other end: the listener's
// path for a stream made by ConnectUnix, usually "" for one accepted or made
// by UnixStreamPair. While a connect is still in progress it fails with
// ENOTCONN.
func (s *UnixStream) PeerAddr() (string, error) { return udsPeerPath(s.sock()) }

// TakeError returns and clears the socket's pending error (SO_ERROR): nil
// on a healthy stream, the reason after an error event.
func (s *UnixStream) TakeError() error { return s.sock().takeError() }

// Close closes the stream. The peer then reads io.EOF. A second Close
// returns net.ErrClosed.
func (s *UnixStream) Close() error { return s.sock().close() }

// Register implements poller.Source.
func (s *UnixStream) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return s.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (s *UnixStream) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return s.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (s *UnixStream) Deregister(r *poller.Registry) error { return s.sock().Deregister(r) }

// udsLocalPath is getsockname for any Unix-domain socket.
func udsLocalPath(s *sock) (string, error) {
	if err := s.acquire(); err != nil {
		return "", err
	}
	defer s.release()
	path, err := udsGetsockname(s.fd)
	return path, wrapSys("getsockname", err)
}

// udsPeerPath is getpeername for any Unix-domain socket.
func udsPeerPath(s *sock) (string, error) {
	if err := s.acquire(); err != nil {
		return "", err
	}
	defer s.release()
	path, err := udsGetpeername(s.fd)
	return path, wrapSys("getpeername", err)
}

// sock returns the descriptor under the stream; nil (which every sock method
// treats as closed) for a nil or zero UnixStream.
func (s *UnixStream) sock() *sock {
	if s == nil {
		return nil
	}
	return s.s
}
