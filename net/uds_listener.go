//go:build unix

package net

import (
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// udsBacklog is the listen(2) backlog; the kernel caps it at its own limit
// (net.core.somaxconn on Linux, kern.ipc.somaxconn on the BSDs).
const udsBacklog = unix.SOMAXCONN

// UnixListener is a non-blocking Unix-domain listening socket
// (mio::net::UnixListener). Register it Readable; each readable event
// means connections are pending: Accept until it returns
// poller.ErrWouldBlock.
//
// Closing a listener does not remove its socket file, in keeping with mio
// and the kernel: remove the path yourself (os.Remove) when done, and before
// binding the same path again, which otherwise fails with EADDRINUSE. A name
// in Linux's abstract namespace ("@name") leaves no file and is freed with
// the socket.
type UnixListener struct {
	s *sock
}

// ListenUnix binds a new stream socket to path and listens on it. A path
// beginning with "@" is, on Linux, a name in the abstract namespace, which
// is not a file; elsewhere it is a file name like any other. The path must
// fit in sockaddr_un (see ErrPathTooLong).
func ListenUnix(path string) (*UnixListener, error) {
	sa, err := udsSockaddr("listen", path)
	if err != nil {
		return nil, err
	}
	s, err := newSocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, udsOpErr("listen", path, err)
	}
	if err = s.bind(sa); err == nil {
		err = s.listen(udsBacklog)
	}
	if err != nil {
		s.close()
		return nil, udsOpErr("listen", path, err)
	}
	return &UnixListener{s: s}, nil
}

// Accept takes one pending connection. It returns the new stream, which is
// non-blocking and close-on-exec, and the path of the connecting socket,
// which is "" unless that socket was bound to one. With nothing pending it
// returns poller.ErrWouldBlock.
func (l *UnixListener) Accept() (*UnixStream, string, error) {
	s, sa, err := l.sock().accept()
	if err != nil {
		return nil, "", err
	}
	// A peer that has already gone may have no name left to ask for; the
	// connection (and whatever it sent) is still worth having.
	peer, _ := udsAcceptedPeer(s.fd, sa)
	return &UnixStream{s: s}, peer, nil
}

// LocalAddr returns the path the listener is bound to, "@name" for an
// abstract one.
func (l *UnixListener) LocalAddr() (string, error) { return udsLocalPath(l.sock()) }

// TakeError returns and clears the socket's pending error (SO_ERROR).
func (l *UnixListener) TakeError() error { return l.sock().takeError() }

// Close stops listening; connections not yet accepted are reset. The
// socket file stays (see UnixListener). A second Close returns
// net.ErrClosed.
func (l *UnixListener) Close() error { return l.sock().close() }

// Register implements poller.Source.
func (l *UnixListener) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return l.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (l *UnixListener) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return l.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (l *UnixListener) Deregister(r *poller.Registry) error { return l.sock().Deregister(r) }

// sock returns the descriptor under the listener; nil (which every sock method
// treats as closed) for a nil or zero UnixListener.
func (l *UnixListener) sock() *sock {
	if l == nil {
		return nil
	}
	return l.s
}
