//go:build unix

package net

import (
	"errors"
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
}

func newSock(fd int) *sock { return &sock{fd: fd} }

// acquire takes a reference for one system call; errClosed when closed.
func (s *sock) acquire() error {
	if !s.ref.Acquire() {
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
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return unix.Write(s.fd, p) })
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
	n, err := sysx.IgnoringEINTRIO(func() (int, error) {
		n, _, err := unix.Recvfrom(s.fd, p, unix.MSG_PEEK)
		return n, err
	})
	if err != nil {
		return 0, ioErr("recvfrom", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// ShutdownHow says which halves of a connection Shutdown closes.
type ShutdownHow int

const (
	// ShutdownRead closes the reading half: reads return end of stream.
	ShutdownRead ShutdownHow = unix.SHUT_RD
	// ShutdownWrite closes the writing half: the peer reads end of stream.
	ShutdownWrite ShutdownHow = unix.SHUT_WR
	// ShutdownBoth closes both halves.
	ShutdownBoth ShutdownHow = unix.SHUT_RDWR
)

func (s *sock) shutdown(how ShutdownHow) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return wrapSys("shutdown", unix.Shutdown(s.fd, int(how)))
}

// takeError returns and clears the socket's pending error (SO_ERROR): how a
// non-blocking connect failed, or why the connection broke.
func (s *sock) takeError() error {
	v, err := s.getsockoptInt(unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return os.NewSyscallError("connect", unix.Errno(v))
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
