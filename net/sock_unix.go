//go:build unix

package net

import (
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/fdref"
	"github.com/metalio/metal/internal/sysx"
	"github.com/metalio/metal/poller"
)

// sock is the descriptor under every socket type of this package: a
// non-blocking, close-on-exec socket whose number is guarded by a reference
// count, so a Close racing a Read can never make the Read hit a descriptor
// the kernel has already handed to someone else.
type sock struct {
	ref fdref.State
	fd  int
	// family is the address family of an Internet socket (AF_INET or
	// AF_INET6), which decides how addresses are encoded for it; 0 for
	// sockets whose addresses need no such choice.
	family int
	// pipe: the descriptor is a pipe's, not a socket's, and is written
	// with write(2) (send(2) would fail with ENOTSOCK).
	pipe bool
}

func newSock(fd int) *sock { return &sock{fd: fd} }

// newPipeSock wraps a pipe's descriptor.
func newPipeSock(fd int) *sock { return &sock{fd: fd, pipe: true} }

// acquire takes a reference for one system call; net.ErrClosed when
// closed. A nil *sock (a zero-valued TCPStream, say) counts as closed.
func (s *sock) acquire() error {
	if s == nil || !s.ref.Acquire() {
		return stdnet.ErrClosed
	}
	return nil
}

// release gives the reference back, closing the descriptor if the socket
// was closed meanwhile and this was the last use.
func (s *sock) release() {
	if s.ref.Release() {
		unix.Close(s.fd)
	}
}

// close marks the socket closed; the descriptor is closed at once, or by
// the last system call still using it. A second close returns net.ErrClosed.
func (s *sock) close() error {
	if s == nil {
		return stdnet.ErrClosed
	}
	first, closeNow := s.ref.Close()
	if !first {
		return stdnet.ErrClosed
	}
	if closeNow {
		return wrapSys("close", unix.Close(s.fd))
	}
	return nil
}

// read reads into p. It returns ErrWouldBlock (without allocating) when
// nothing is there and io.EOF at end of stream.
func (s *sock) read(p []byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	if len(p) == 0 {
		return 0, nil
	}
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return unix.Read(s.fd, p) })
	if err != nil {
		return 0, ioErr("read", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// write writes p; a short count with nil error means the send buffer filled.
func (s *sock) write(p []byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	var n int
	var err error
	if s.pipe {
		n, err = sysx.IgnoringEINTRIO(func() (int, error) { return unix.Write(s.fd, p) })
	} else {
		n, err = sysx.IgnoringEINTRIO(func() (int, error) { return sendNoSignal(s.fd, p) })
	}
	if err != nil {
		return 0, ioErr("write", err)
	}
	return n, nil
}

// Register implements poller.Source.
func (s *sock) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return poller.SourceFd(s.fd).Register(r, t, i)
}

// Reregister implements poller.Source.
func (s *sock) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return poller.SourceFd(s.fd).Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (s *sock) Deregister(r *poller.Registry) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return poller.SourceFd(s.fd).Deregister(r)
}

// ioErr returns would-block as poller.ErrWouldBlock, which allocates
// nothing, and names the system call in any other error.
func ioErr(op string, err error) error {
	if err == unix.EAGAIN {
		return poller.ErrWouldBlock
	}
	return wrapSys(op, err)
}

// wrapSys names the failed system call; errors.Is still sees the errno.
func wrapSys(op string, err error) error {
	if err == nil {
		return nil
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return os.NewSyscallError(op, errno)
	}
	return err
}

// readv reads into several buffers with one system call.
func (s *sock) readv(bufs [][]byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	if totalLen(bufs) == 0 {
		return 0, nil
	}
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return readv(s.fd, bufs) })
	if err != nil {
		return 0, ioErr("readv", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// writev writes several buffers with one system call.
func (s *sock) writev(bufs [][]byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return writev(s.fd, bufs) })
	if err != nil {
		return 0, ioErr("writev", err)
	}
	return n, nil
}

// peek reads into p without taking the data out of the receive queue.
func (s *sock) peek(p []byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	if len(p) == 0 {
		return 0, nil
	}
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return sysRecv(s.fd, p, unix.MSG_PEEK) })
	if err != nil {
		return 0, ioErr("recvfrom", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// errInvalidShutdownHow reports a ShutdownHow other than the three defined.
var errInvalidShutdownHow = errors.New("invalid ShutdownHow")

func (s *sock) shutdown(how ShutdownHow) error {
	var sysHow int
	switch how {
	case ShutdownRead:
		sysHow = unix.SHUT_RD
	case ShutdownWrite:
		sysHow = unix.SHUT_WR
	case ShutdownBoth:
		sysHow = unix.SHUT_RDWR
	default:
		return fmt.Errorf("metal/net: shutdown: %w", errInvalidShutdownHow)
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return wrapSys("shutdown", unix.Shutdown(s.fd, sysHow))
}

// takeError returns and clears the socket's pending error (SO_ERROR): how a
// non-blocking connect failed, or why the connection broke.
func (s *sock) takeError() error {
	v, err := s.getsockoptInt(unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return os.NewSyscallError("socket error", unix.Errno(v))
	}
	return nil
}

func (s *sock) setsockoptInt(level, opt, v int) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return wrapSys("setsockopt", unix.SetsockoptInt(s.fd, level, opt, v))
}

func (s *sock) getsockoptInt(level, opt int) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	v, err := unix.GetsockoptInt(s.fd, level, opt)
	return v, wrapSys("getsockopt", err)
}

func totalLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// newSocket opens a socket that is O_NONBLOCK and FD_CLOEXEC from birth
// (see sysSocket for how each platform manages that) and wraps it in a sock.
// family, typ and proto are socket(2)'s arguments, e.g. unix.AF_INET,
// unix.SOCK_STREAM, 0.
func newSocket(family, typ, proto int) (*sock, error) {
	fd, err := sysSocket(family, typ, proto)
	if err != nil {
		return nil, err
	}
	return newSock(fd), nil
}

// bind binds the socket to sa.
func (s *sock) bind(sa unix.Sockaddr) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return wrapSys("bind", unix.Bind(s.fd, sa))
}

// listen marks the socket as accepting connections, with the given backlog.
func (s *sock) listen(backlog int) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return wrapSys("listen", unix.Listen(s.fd, backlog))
}

// connect starts connecting to sa. The socket is non-blocking, so the
// connection usually completes later: EINPROGRESS is success. The caller
// registers the socket Writable, waits for the event, and then asks
// takeError (and getpeername) whether it worked. A Unix-domain connect to a
// listener whose backlog is full returns ErrWouldBlock (EAGAIN) instead.
//
// EINTR is success too and is not retried: a non-blocking connect carries
// on in the kernel after the signal, and a second connect would only report
// EALREADY.
func (s *sock) connect(sa unix.Sockaddr) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	switch err := unix.Connect(s.fd, sa); err {
	case nil, unix.EINPROGRESS, unix.EINTR:
		return nil
	default:
		return ioErr("connect", err)
	}
}

// accept takes one pending connection off a listening socket, returning it
// as a new non-blocking, close-on-exec sock with the peer's address. With
// no connection pending it returns ErrWouldBlock. Other errors, including
// ECONNABORTED for a connection reset while it waited, are returned as they
// are; the caller may simply accept again.
func (s *sock) accept() (*sock, unix.Sockaddr, error) {
	if err := s.acquire(); err != nil {
		return nil, nil, err
	}
	defer s.release()
	var nfd int
	var sa unix.Sockaddr
	err := sysx.IgnoringEINTR(func() error {
		var err error
		nfd, sa, err = sysAccept(s.fd)
		return err
	})
	if err != nil {
		return nil, nil, ioErr("accept", err)
	}
	return newSock(nfd), sa, nil
}

// localSockaddr returns the address the socket is bound to (getsockname).
func (s *sock) localSockaddr() (unix.Sockaddr, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	sa, err := unix.Getsockname(s.fd)
	return sa, wrapSys("getsockname", err)
}

// peerSockaddr returns the address of the connected peer (getpeername);
// ENOTCONN while a connect is still in progress or after it failed.
func (s *sock) peerSockaddr() (unix.Sockaddr, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	sa, err := unix.Getpeername(s.fd)
	return sa, wrapSys("getpeername", err)
}
