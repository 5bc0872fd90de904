//go:build unix

package net

import (
	"bytes"
	"errors"
	"io"
	stdnet "net"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

const (
	pipeReceiverToken poller.Token = 10
	pipeSenderToken   poller.Token = 11
)

var pipeGreeting = []byte("Hello world")

func newTestPipe(t *testing.T) (*PipeSender, *PipeReceiver) {
	t.Helper()
	w, r, err := Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { w.Close(); r.Close() })
	return w, r
}

func TestPipeTransfersBytesAndReportsReadiness(t *testing.T) {
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	udsRequireNonblockCloexec(t, w.s.fd)
	udsRequireNonblockCloexec(t, r.s.fd)

	buf := make([]byte, 20)
	_, err := r.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock, "an empty pipe would block")

	require.NoError(t, p.Registry().Register(r, pipeReceiverToken, poller.Readable))
	require.NoError(t, p.Registry().Register(w, pipeSenderToken, poller.Writable))
	udsExpectEvent(t, p, events, pipeSenderToken, testutil.Writable)

	n, err := w.Write(pipeGreeting)
	require.NoError(t, err)
	require.Equal(t, len(pipeGreeting), n)

	udsExpectEvent(t, p, events, pipeReceiverToken, testutil.Readable)
	n, err = r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, pipeGreeting, buf[:n])
	_, err = r.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)
}

func TestPipeReceiverIsReadClosedWhenSenderCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	require.NoError(t, p.Registry().Register(r, pipeReceiverToken, poller.Readable))

	// The sender writes and later closes from another goroutine, as a
	// producer would.
	wrote, closeNow, closed := make(chan error), make(chan struct{}), make(chan error)
	go func() {
		_, err := w.Write(pipeGreeting)
		wrote <- err
		<-closeNow
		closed <- w.Close()
	}()
	require.NoError(t, <-wrote)
	ev := udsExpectEvent(t, p, events, pipeReceiverToken, testutil.Readable)
	require.False(t, ev.IsReadClosed(), "the sender is still open: %v", ev)

	close(closeNow)
	require.NoError(t, <-closed)
	ev = udsExpectEvent(t, p, events, pipeReceiverToken, testutil.ReadClosed)
	require.True(t, ev.IsReadable(), "end of stream is readable: %v", ev)
	require.False(t, ev.IsWriteClosed() && !ev.IsReadClosed(), "%v", ev)

	// What was written is still there, then end of stream.
	buf := make([]byte, 20)
	n, err := r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, pipeGreeting, buf[:n])
	_, err = r.Read(buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestPipeSenderIsWriteClosedWhenReceiverCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	require.NoError(t, p.Registry().Register(w, pipeSenderToken, poller.Writable))
	udsExpectEvent(t, p, events, pipeSenderToken, testutil.Writable)

	closed := make(chan error)
	go func() { closed <- r.Close() }()
	require.NoError(t, <-closed)

	ev := udsExpectEvent(t, p, events, pipeSenderToken, testutil.WriteClosed)
	if runtime.GOOS == "linux" {
		// epoll reports a pipe whose reader has gone as EPOLLERR (with
		// EPOLLOUT while there is room), never EPOLLHUP.
		require.True(t, ev.IsError(), "%v", ev)
	}
	require.False(t, ev.IsReadClosed() && !ev.IsWriteClosed(), "%v", ev)

	_, err := w.Write(pipeGreeting)
	require.ErrorIs(t, err, unix.EPIPE)
}

func TestPipeSenderIsWriteClosedWhenReceiverClosesOnAFullPipe(t *testing.T) {
	// With the pipe full epoll has no EPOLLOUT to add: the reader's
	// departure arrives as EPOLLERR alone, which must still say
	// write-closed.
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	pipeFill(t, w)
	require.NoError(t, p.Registry().Register(w, pipeSenderToken, poller.Writable))
	require.NoError(t, r.Close())

	ev := udsExpectEvent(t, p, events, pipeSenderToken, testutil.WriteClosed)
	require.False(t, ev.IsReadClosed() && !ev.IsWriteClosed(), "%v", ev)
	_, err := w.Write(pipeGreeting)
	require.ErrorIs(t, err, unix.EPIPE)
}

// pipeFill writes until the pipe would block and returns how much it took.
func pipeFill(t *testing.T, w *PipeSender) int {
	t.Helper()
	chunk := make([]byte, 16<<10)
	total := 0
	for {
		n, err := w.Write(chunk)
		total += n
		if errors.Is(err, poller.ErrWouldBlock) {
			return total
		}
		require.NoError(t, err)
		require.Less(t, total, 64<<20, "the pipe never filled")
	}
}

func TestPipeDrainingAFullPipeGivesANewWritableEvent(t *testing.T) {
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	require.NoError(t, p.Registry().Register(w, pipeSenderToken, poller.Writable))
	udsExpectEvent(t, p, events, pipeSenderToken, testutil.Writable)

	filled := pipeFill(t, w)
	require.Positive(t, filled)
	testutil.ExpectNoEvents(t, p, events)

	buf := make([]byte, 32<<10)
	drained := 0
	for {
		n, err := r.Read(buf)
		if errors.Is(err, poller.ErrWouldBlock) {
			break
		}
		require.NoError(t, err)
		drained += n
	}
	require.Equal(t, filled, drained)
	udsExpectEvent(t, p, events, pipeSenderToken, testutil.Writable)
}

func TestPipeAdoptsAChildProcessStdinAndStdout(t *testing.T) {
	cat, err := exec.LookPath("cat")
	require.NoError(t, err, "the test needs cat(1)")

	// The child's ends go to cat; ours are adopted, and the *os.Files closed.
	stdinR, stdinW, err := os.Pipe()
	require.NoError(t, err)
	stdoutR, stdoutW, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(cat)
	cmd.Stdin, cmd.Stdout = stdinR, stdoutW
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	require.NoError(t, stdinR.Close())
	require.NoError(t, stdoutW.Close())

	w, err := PipeSenderFromFile(stdinW)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	r, err := PipeReceiverFromFile(stdoutR)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })

	p, events := testutil.NewPoll(t)
	require.NoError(t, p.Registry().Register(r, pipeReceiverToken, poller.Readable))
	require.NoError(t, p.Registry().Register(w, pipeSenderToken, poller.Writable))
	udsExpectEvent(t, p, events, pipeSenderToken, testutil.Writable)

	n, err := w.Write(pipeGreeting)
	require.NoError(t, err)
	require.Equal(t, len(pipeGreeting), n)

	got := make([]byte, len(pipeGreeting))
	udsReadFull(t, p, events, pipeReceiverToken, r.Read, got)
	require.Equal(t, pipeGreeting, got)

	// Closing cat's stdin ends cat, which closes its stdout: read-closed.
	require.NoError(t, p.Registry().Deregister(w))
	require.NoError(t, w.Close())
	udsExpectEvent(t, p, events, pipeReceiverToken, testutil.ReadClosed)
	_, err = r.Read(got)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, cmd.Wait())
}

func TestPipeFromFileDuplicatesAboveStdioAndClosesTheFile(t *testing.T) {
	osR, osW, err := os.Pipe()
	require.NoError(t, err)
	w, err := PipeSenderFromFile(osW)
	require.NoError(t, err)
	defer w.Close()
	r, err := PipeReceiverFromFile(osR)
	require.NoError(t, err)
	defer r.Close()

	udsRequireNonblockCloexec(t, w.s.fd)
	udsRequireNonblockCloexec(t, r.s.fd)
	_, err = osW.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrClosed, "the adopted *os.File is closed")
	_, err = osR.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrClosed, "the adopted *os.File is closed")

	_, err = r.Read(make([]byte, 1))
	require.ErrorIs(t, err, poller.ErrWouldBlock, "the adopted end is non-blocking")
	n, err := w.Write(pipeGreeting)
	require.NoError(t, err)
	buf := make([]byte, 32)
	m, err := r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, pipeGreeting, buf[:m])
	require.Equal(t, n, m)
}

func TestPipeFromFileRejectsNilAndClosedFiles(t *testing.T) {
	_, err := PipeSenderFromFile(nil)
	require.ErrorIs(t, err, os.ErrInvalid)
	_, err = PipeReceiverFromFile(nil)
	require.ErrorIs(t, err, os.ErrInvalid)

	osR, osW, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, osR.Close())
	require.NoError(t, osW.Close())
	_, err = PipeReceiverFromFile(osR)
	require.Error(t, err)
	_, err = PipeSenderFromFile(osW)
	require.Error(t, err)
}

func TestPipeUseAfterCloseReturnsErrClosed(t *testing.T) {
	p, _ := testutil.NewPoll(t)
	w, r, err := Pipe()
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, r.Close())

	require.ErrorIs(t, w.Close(), stdnet.ErrClosed)
	require.ErrorIs(t, r.Close(), stdnet.ErrClosed)
	_, err = w.Write(pipeGreeting)
	require.ErrorIs(t, err, stdnet.ErrClosed)
	_, err = r.Read(make([]byte, 8))
	require.ErrorIs(t, err, stdnet.ErrClosed)
	require.ErrorIs(t, p.Registry().Register(w, pipeSenderToken, poller.Writable), stdnet.ErrClosed)
	require.ErrorIs(t, p.Registry().Reregister(r, pipeReceiverToken, poller.Readable), stdnet.ErrClosed)
	require.ErrorIs(t, p.Registry().Deregister(r), stdnet.ErrClosed)
}

func TestPipeDeregisterStopsEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	require.NoError(t, p.Registry().Register(r, pipeReceiverToken, poller.Readable))
	require.NoError(t, p.Registry().Deregister(r))
	_, err := w.Write(pipeGreeting)
	require.NoError(t, err)
	testutil.ExpectNoEvents(t, p, events)
}

func TestPipeReadAndWriteDoNotAllocate(t *testing.T) {
	w, r := newTestPipe(t)
	out, in := []byte("x"), make([]byte, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := w.Write(out); err != nil {
			panic(err)
		}
		if _, err := r.Read(in); err != nil {
			panic(err)
		}
		if _, err := r.Read(in); err != poller.ErrWouldBlock {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestPipeConcurrentWritesArriveWhole(t *testing.T) {
	// Writes up to PIPE_BUF bytes are atomic: records from several
	// goroutines never interleave.
	p, events := testutil.NewPoll(t)
	w, r := newTestPipe(t)
	require.NoError(t, p.Registry().Register(r, pipeReceiverToken, poller.Readable))
	const writers, records, size = 4, 50, 64
	errs := make(chan error, writers)
	for g := range writers {
		go func() {
			rec := bytes.Repeat([]byte{byte('a' + g)}, size)
			for range records {
				for {
					_, err := w.Write(rec)
					if err == poller.ErrWouldBlock {
						runtime.Gosched()
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
			errs <- nil
		}()
	}
	got := make([]byte, writers*records*size)
	udsReadFull(t, p, events, pipeReceiverToken, r.Read, got)
	for range writers {
		require.NoError(t, <-errs)
	}
	for i := 0; i < len(got); i += size {
		require.Equal(t, bytes.Repeat(got[i:i+1], size), got[i:i+size], "record at %d torn", i)
	}
}
