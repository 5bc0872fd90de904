//go:build unix

package net

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// Pipe opens a one-way, in-process pipe (mio::unix::pipe): bytes written
// to the PipeSender come out of the PipeReceiver. Both ends are
// non-blocking and close-on-exec from the moment they exist, and both are
// poller.Sources: register the sender for Writable and the receiver for
// Readable.
//
// Closing the sender makes the receiver readable and read-closed; once the
// buffered bytes are read, Read returns io.EOF. Closing the receiver makes
// the sender write-closed (and, on Linux, an error event); a Write then
// fails with EPIPE.
func Pipe() (*PipeSender, *PipeReceiver, error) {
	var fds [2]int
	if err := pipeCloexecNonblock(&fds); err != nil {
		return nil, nil, err
	}
	return &PipeSender{s: newPipeSock(fds[1])}, &PipeReceiver{s: newPipeSock(fds[0])}, nil
}

// PipeSender is the writing end of a pipe. It is safe for concurrent use;
// Close may race with Write without touching a reused descriptor.
type PipeSender struct {
	s *sock
}

// PipeReceiver is the reading end of a pipe. It is safe for concurrent use;
// Close may race with Read without touching a reused descriptor.
type PipeReceiver struct {
	s *sock
}

// PipeSenderFromFile adopts the writing end of a pipe made elsewhere, such
// as the stdin pipe of a child process. It duplicates f's descriptor
// (close-on-exec, numbered 3 or above), makes the duplicate non-blocking and
// closes f: from then on the PipeSender owns the pipe. f's descriptor is not
// put into blocking mode, as f.Fd would do.
//
// O_NONBLOCK belongs to the open pipe end, not to one descriptor, so any
// other descriptor for the same end (one inherited by a child through
// fork, say) becomes non-blocking too.
func PipeSenderFromFile(f *os.File) (*PipeSender, error) {
	s, err := adoptPipeFile(f)
	if err != nil {
		return nil, err
	}
	return &PipeSender{s: s}, nil
}

// PipeReceiverFromFile adopts the reading end of a pipe made elsewhere, such
// as the stdout pipe of a child process, with the same rules as
// PipeSenderFromFile.
func PipeReceiverFromFile(f *os.File) (*PipeReceiver, error) {
	s, err := adoptPipeFile(f)
	if err != nil {
		return nil, err
	}
	return &PipeReceiver{s: s}, nil
}

// adoptPipeFile duplicates f's descriptor through its RawConn (Fd would
// switch f to blocking mode first), makes the copy non-blocking and closes
// f. f is closed only once the copy is ours.
func adoptPipeFile(f *os.File) (*sock, error) {
	if f == nil {
		return nil, fmt.Errorf("metal/net: adopt pipe: nil *os.File: %w", os.ErrInvalid)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("metal/net: adopt pipe %s: %w", f.Name(), err)
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		// The lower bound 3 is mandatory: without it the kernel takes
		// whatever the third argument register held (mio issue 1497), and
		// a result of 0, 1 or 2 would shadow the standard streams.
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
	}); err != nil {
		return nil, fmt.Errorf("metal/net: adopt pipe %s: %w", f.Name(), err)
	}
	if dupErr != nil {
		return nil, fmt.Errorf("metal/net: adopt pipe %s: %w", f.Name(), os.NewSyscallError("fcntl(F_DUPFD_CLOEXEC)", dupErr))
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("metal/net: adopt pipe %s: %w", f.Name(), os.NewSyscallError("fcntl(O_NONBLOCK)", err))
	}
	// The duplicate keeps the pipe open; f's own descriptor goes.
	if err := f.Close(); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("metal/net: adopt pipe %s: %w", f.Name(), err)
	}
	return newPipeSock(nfd), nil
}

// Write writes p into the pipe. With the pipe full it returns
// poller.ErrWouldBlock; a short count with a nil error means the pipe filled
// part way. Writes of up to PIPE_BUF bytes (4096 on Linux, 512 at least by
// POSIX) are atomic. With the receiver closed it fails with EPIPE. After
// Close it returns net.ErrClosed. It allocates nothing.
func (s *PipeSender) Write(p []byte) (int, error) { return s.sock().write(p) }

// Close closes the writing end; the receiver sees end of stream once no
// other descriptor for this end (in a child process, say) remains. A second
// Close returns net.ErrClosed. Deregister first: a closed descriptor cannot
// be deregistered.
func (s *PipeSender) Close() error { return s.sock().close() }

// Register implements poller.Source.
func (s *PipeSender) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return s.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (s *PipeSender) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return s.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (s *PipeSender) Deregister(r *poller.Registry) error { return s.sock().Deregister(r) }

// Read reads from the pipe into p. With nothing buffered it returns
// poller.ErrWouldBlock; with nothing buffered and the sender closed, io.EOF.
// After Close it returns net.ErrClosed. It allocates nothing.
func (r *PipeReceiver) Read(p []byte) (int, error) { return r.sock().read(p) }

// Close closes the reading end; the sender's writes then fail with EPIPE. A
// second Close returns net.ErrClosed. Deregister first: a closed descriptor
// cannot be deregistered.
func (r *PipeReceiver) Close() error { return r.sock().close() }

// Register implements poller.Source.
func (r *PipeReceiver) Register(reg *poller.Registry, t poller.Token, i poller.Interest) error {
	return r.sock().Register(reg, t, i)
}

// Reregister implements poller.Source.
func (r *PipeReceiver) Reregister(reg *poller.Registry, t poller.Token, i poller.Interest) error {
	return r.sock().Reregister(reg, t, i)
}

// Deregister implements poller.Source.
func (r *PipeReceiver) Deregister(reg *poller.Registry) error { return r.sock().Deregister(reg) }

// sock returns the descriptor under the sender; nil (which every sock method
// treats as closed) for a nil or zero PipeSender.
func (s *PipeSender) sock() *sock {
	if s == nil {
		return nil
	}
	return s.s
}

// sock returns the descriptor under the receiver; nil (which every sock
// method treats as closed) for a nil or zero PipeReceiver.
func (r *PipeReceiver) sock() *sock {
	if r == nil {
		return nil
	}
	return r.s
}
