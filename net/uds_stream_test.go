//go:build unix

package net

import (
	"errors"
	"io"
	stdnet "net"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

var (
	udsData1 = []byte("Hello same host!") // 16 bytes
	udsData2 = []byte("Why hello metal!") // 16 bytes
)

const (
	udsToken1 poller.Token = 0
	udsToken2 poller.Token = 1
)

// udsEchoListener listens on a fresh path with Go's own net package and
// echoes every connection until its peer shuts down or closes. It returns
// the path; the listener closes when the test ends.
func udsEchoListener(t *testing.T) string {
	t.Helper()
	path := udsSocketPath(t, "echo")
	ln, err := stdnet.Listen("unix", path)
	require.NoError(t, err)
	// The cleanup waits for every goroutine, so no connection closes behind
	// a later test's back (the descriptor-count tests would notice).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []stdnet.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				io.Copy(c, c) // ends with the peer's EOF or reset, or our close
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return path
}

// udsConnect connects to path and closes the stream when the test ends.
func udsConnect(t *testing.T, path string) *UnixStream {
	t.Helper()
	s, err := ConnectUnix(path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func udsStreamPair(t *testing.T) (*UnixStream, *UnixStream) {
	t.Helper()
	a, b, err := UnixStreamPair()
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// udsWriteAll writes p in one go; these tests write far less than a
// socket buffer.
func udsWriteAll(t *testing.T, write func([]byte) (int, error), p []byte) {
	t.Helper()
	n, err := write(p)
	require.NoError(t, err)
	require.Equal(t, len(p), n, "short write")
}

func TestUnixStreamConnectsAndEchoes(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s := udsConnect(t, udsEchoListener(t))
	udsRequireNonblockCloexec(t, s.s.fd)

	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)

	buf := make([]byte, 64)
	_, err := s.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, s.Write, udsData1)
	got := make([]byte, len(udsData1))
	udsReadFull(t, p, events, udsToken1, s.Read, got)
	require.Equal(t, udsData1, got)
	require.NoError(t, s.TakeError())
	_, err = s.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	// Vectored: two buffers out in one call, back into two buffers (the
	// second one byte longer than needed, that byte untouched).
	n, err := s.WriteV([][]byte{udsData1, udsData2})
	require.NoError(t, err)
	require.Equal(t, len(udsData1)+len(udsData2), n)
	udsPeekAtLeast(t, p, events, udsToken1, s, n)
	buf1, buf2 := make([]byte, len(udsData1)), []byte(strings.Repeat("\x02", len(udsData2)+1))
	n, err = s.ReadV([][]byte{buf1, buf2})
	require.NoError(t, err)
	require.Equal(t, len(udsData1)+len(udsData2), n)
	require.Equal(t, udsData1, buf1)
	require.Equal(t, udsData2, buf2[:len(udsData2)])
	require.Equal(t, byte(2), buf2[len(udsData2)], "byte past the data was written")
}

// udsPeekAtLeast waits until at least n bytes are queued on s, without
// taking them.
func udsPeekAtLeast(t *testing.T, p *poller.Poll, events *poller.Events, tok poller.Token, s *UnixStream, n int) {
	t.Helper()
	buf := make([]byte, n)
	for {
		m, err := s.Peek(buf)
		if err == nil && m >= n {
			return
		}
		if err != nil {
			require.ErrorIs(t, err, poller.ErrWouldBlock)
		}
		udsExpectEvent(t, p, events, tok, testutil.Readable)
	}
}

func TestUnixStreamConnectIsWritableThenReadClosedWhenPeerCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "s")
	ln, err := stdnet.Listen("unix", path)
	require.NoError(t, err)
	defer ln.Close()

	s := udsConnect(t, path)
	accepted := make(chan stdnet.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()

	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)

	c, ok := <-accepted
	require.True(t, ok, "accept failed")
	require.NoError(t, c.Close())
	ev := udsExpectEvent(t, p, events, udsToken1, testutil.Readable|testutil.ReadClosed)
	require.NotNil(t, ev)
	_, err = s.Read(make([]byte, 8))
	require.ErrorIs(t, err, io.EOF)
}

func TestUnixStreamPairExchangesData(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, s2 := udsStreamPair(t)
	udsRequireNonblockCloexec(t, s1.s.fd)
	udsRequireNonblockCloexec(t, s2.s.fd)
	require.NoError(t, p.Registry().Register(s1, udsToken1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(s2, udsToken2, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(udsToken1, testutil.Writable), testutil.Expect(udsToken2, testutil.Writable))

	buf := make([]byte, 64)
	_, err := s1.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, s1.Write, udsData1)
	udsExpectEvent(t, p, events, udsToken2, testutil.Readable)
	n, err := s2.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	_, err = s2.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, s2.Write, udsData2)
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
	n, err = s1.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n])
	_, err = s1.Read(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)
}

func TestUnixStreamAddressesArePathsOrEmpty(t *testing.T) {
	path := udsSocketPath(t, "a")
	ln, err := ListenUnix(path)
	require.NoError(t, err)
	defer ln.Close()

	c := udsConnect(t, path)
	peer, err := c.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, path, peer)
	local, err := c.LocalAddr()
	require.NoError(t, err)
	require.Empty(t, local, "a connecting stream is unnamed")

	a, from := udsAcceptOne(t, ln)
	require.Empty(t, from, "the connecting stream is unnamed")
	local, err = a.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, path, local)
	peer, err = a.PeerAddr()
	require.NoError(t, err)
	require.Empty(t, peer)

	// Both ends of a socketpair are unnamed: "", never "@".
	s1, s2 := udsStreamPair(t)
	for _, s := range []*UnixStream{s1, s2} {
		local, err := s.LocalAddr()
		require.NoError(t, err)
		require.Empty(t, local)
		peer, err := s.PeerAddr()
		require.NoError(t, err)
		require.Empty(t, peer)
	}
}

// udsAcceptOne accepts a connection already made to ln, waiting for it if
// need be, and closes it when the test ends.
func udsAcceptOne(t *testing.T, ln *UnixListener) (*UnixStream, string) {
	t.Helper()
	p, events := testutil.NewPoll(t)
	require.NoError(t, p.Registry().Register(ln, 99, poller.Readable))
	defer p.Registry().Deregister(ln)
	for {
		s, from, err := ln.Accept()
		if errors.Is(err, poller.ErrWouldBlock) {
			udsExpectEvent(t, p, events, 99, testutil.Readable)
			continue
		}
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s, from
	}
}

// udsConnectedToEcho connects to a fresh echo listener, registers the
// stream Readable|Writable with udsToken1, sends udsData1 and waits for the
// echo to become readable, as the shutdown scenarios start.
func udsConnectedToEcho(t *testing.T) (*poller.Poll, *poller.Events, *UnixStream) {
	t.Helper()
	p, events := testutil.NewPoll(t)
	s := udsConnect(t, udsEchoListener(t))
	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)
	udsWriteAll(t, s.Write, udsData1)
	udsPeekAtLeast(t, p, events, udsToken1, s, len(udsData1))
	return p, events, s
}

func TestUnixStreamShutdownReadReportsReadClosed(t *testing.T) {
	p, events, s := udsConnectedToEcho(t)

	require.NoError(t, s.Shutdown(ShutdownRead))
	ev := udsExpectEvent(t, p, events, udsToken1, testutil.ReadClosed)
	require.False(t, ev.IsWriteClosed(), "only the reading half is shut: %v", ev)

	buf := make([]byte, 64)
	n, err := s.Read(buf)
	if runtime.GOOS == "linux" {
		// Linux still hands over what was queued before the shutdown.
		require.NoError(t, err)
		require.Equal(t, udsData1, buf[:n])
	} else {
		require.ErrorIs(t, err, io.EOF)
	}
	// Writing is still allowed.
	_, err = s.Write(udsData2)
	require.NoError(t, err)
}

func TestUnixStreamShutdownWriteStopsWritesButNotReads(t *testing.T) {
	p, events, s := udsConnectedToEcho(t)

	require.NoError(t, s.Shutdown(ShutdownWrite))
	if runtime.GOOS != "linux" {
		// kqueue reports the shut writing half as EV_EOF on the write filter.
		udsExpectEvent(t, p, events, udsToken1, testutil.WriteClosed)
	}
	_, err := s.Write(udsData2)
	require.ErrorIs(t, err, unix.EPIPE)

	buf := make([]byte, 64)
	n, err := s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	// The echo server sees our end of stream and closes: end of stream here.
	udsExpectEvent(t, p, events, udsToken1, testutil.ReadClosed)
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestUnixStreamShutdownBothReportsWriteClosed(t *testing.T) {
	p, events, s := udsConnectedToEcho(t)

	require.NoError(t, s.Shutdown(ShutdownBoth))
	udsExpectEvent(t, p, events, udsToken1, testutil.WriteClosed)
	if runtime.GOOS != "linux" {
		_, err := s.Read(make([]byte, 64))
		require.ErrorIs(t, err, io.EOF)
	}
	_, err := s.Write(udsData2)
	require.ErrorIs(t, err, unix.EPIPE)
}

func TestUnixStreamPeerShutdownWriteIsReadClosedNeverWriteClosed(t *testing.T) {
	p, events := testutil.NewPoll(t)
	a, b := udsStreamPair(t)
	require.NoError(t, p.Registry().Register(b, udsToken2, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken2, testutil.Writable)

	require.NoError(t, a.Shutdown(ShutdownWrite))
	ev := udsExpectEvent(t, p, events, udsToken2, testutil.Readable|testutil.ReadClosed)
	require.False(t, ev.IsWriteClosed(), "a half-close is not write-closed: %v", ev)
	require.False(t, ev.IsError(), "%v", ev)
	_, err := b.Read(make([]byte, 8))
	require.ErrorIs(t, err, io.EOF)

	// b's writing half is untouched, and a still reads.
	udsWriteAll(t, b.Write, udsData2)
	buf := make([]byte, 64)
	n, err := a.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n])
}

func TestUnixStreamReadClosedWhenAcceptedSideCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "n")
	ln, err := ListenUnix(path)
	require.NoError(t, err)
	defer ln.Close()
	s := udsConnect(t, path)
	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)

	a, _ := udsAcceptOne(t, ln)
	require.NoError(t, a.Close())
	udsExpectEvent(t, p, events, udsToken1, testutil.ReadClosed)
	_, err = s.Read(make([]byte, 8))
	require.ErrorIs(t, err, io.EOF)
}

func TestUnixStreamClosingThePeerOfAPairGivesReadClosed(t *testing.T) {
	p, events := testutil.NewPoll(t)
	a, b := udsStreamPair(t)
	require.NoError(t, p.Registry().Register(b, udsToken2, poller.Readable))
	udsWriteAll(t, a.Write, udsData1)
	require.NoError(t, a.Close())

	udsExpectEvent(t, p, events, udsToken2, testutil.Readable|testutil.ReadClosed)
	buf := make([]byte, 64)
	n, err := b.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n], "data sent before close is delivered")
	_, err = b.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	_, err = b.Write(udsData2)
	require.Error(t, err, "writing to a closed peer fails")
}

func TestUnixStreamRegisteredIdleGivesNoEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s := udsConnect(t, udsEchoListener(t))
	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixStreamReregisterSwitchesToWritable(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s := udsConnect(t, udsEchoListener(t))
	require.NoError(t, p.Registry().Register(s, udsToken1, poller.Readable))
	require.NoError(t, p.Registry().Reregister(s, udsToken2, poller.Writable))
	udsExpectEvent(t, p, events, udsToken2, testutil.Writable)
}

func TestUnixStreamDeregisterStopsEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	a, b := udsStreamPair(t)
	require.NoError(t, p.Registry().Register(b, udsToken1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Deregister(b))
	udsWriteAll(t, a.Write, udsData1)
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixStreamPeekLeavesDataQueued(t *testing.T) {
	p, events := testutil.NewPoll(t)
	a, b := udsStreamPair(t)
	require.NoError(t, p.Registry().Register(b, udsToken2, poller.Readable))

	buf := make([]byte, 64)
	_, err := b.Peek(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, a.Write, udsData1)
	udsExpectEvent(t, p, events, udsToken2, testutil.Readable)
	for range 2 {
		n, err := b.Peek(buf)
		require.NoError(t, err)
		require.Equal(t, udsData1, buf[:n])
	}
	n, err := b.Read(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])

	require.NoError(t, a.Close())
	udsExpectEvent(t, p, events, udsToken2, testutil.ReadClosed)
	_, err = b.Peek(buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestUnixStreamTakeErrorIsNilWhenHealthy(t *testing.T) {
	a, b := udsStreamPair(t)
	require.NoError(t, a.TakeError())
	require.NoError(t, b.TakeError())
}

func TestUnixStreamReadAndWriteDoNotAllocate(t *testing.T) {
	a, b := udsStreamPair(t)
	out, in := []byte("x"), make([]byte, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := a.Write(out); err != nil {
			panic(err)
		}
		if _, err := b.Read(in); err != nil {
			panic(err)
		}
		if _, err := b.Read(in); err != poller.ErrWouldBlock {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestUnixStreamUseAfterCloseReturnsErrClosed(t *testing.T) {
	p, _ := testutil.NewPoll(t)
	a, b, err := UnixStreamPair()
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.Close())

	require.ErrorIs(t, a.Close(), stdnet.ErrClosed)
	buf := make([]byte, 8)
	for name, op := range map[string]func() error{
		"Read":       func() error { _, err := a.Read(buf); return err },
		"Write":      func() error { _, err := a.Write(buf); return err },
		"ReadV":      func() error { _, err := a.ReadV([][]byte{buf}); return err },
		"WriteV":     func() error { _, err := a.WriteV([][]byte{buf}); return err },
		"Peek":       func() error { _, err := a.Peek(buf); return err },
		"Shutdown":   func() error { return a.Shutdown(ShutdownBoth) },
		"LocalAddr":  func() error { _, err := a.LocalAddr(); return err },
		"PeerAddr":   func() error { _, err := a.PeerAddr(); return err },
		"TakeError":  func() error { return a.TakeError() },
		"Register":   func() error { return p.Registry().Register(a, udsToken1, poller.Readable) },
		"Reregister": func() error { return p.Registry().Reregister(a, udsToken1, poller.Readable) },
		"Deregister": func() error { return p.Registry().Deregister(a) },
	} {
		require.ErrorIs(t, op(), stdnet.ErrClosed, name)
	}
}

func TestConnectUnixReportsMissingAndDeadListeners(t *testing.T) {
	dir := udsSocketDir(t)
	_, err := ConnectUnix(dir + "/nothing-here")
	require.ErrorIs(t, err, unix.ENOENT)

	// A socket file whose listener has closed refuses connections.
	path := dir + "/gone"
	ln, err := ListenUnix(path)
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	_, err = ConnectUnix(path)
	require.ErrorIs(t, err, unix.ECONNREFUSED)
	require.Contains(t, err.Error(), path, "the error names the path")
}

func TestUnixStreamPathTooLongIsAClearError(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 200)
	_, err := ConnectUnix(long)
	require.ErrorIs(t, err, ErrPathTooLong)
	require.Contains(t, err.Error(), "limit")

	// The longest path that fits is accepted as far as the kernel's answer.
	fits := "/" + strings.Repeat("y", udsMaxPath-1)
	_, err = ConnectUnix(fits)
	require.NotErrorIs(t, err, ErrPathTooLong)
	require.ErrorIs(t, err, unix.ENOENT)
}

func TestUnixStreamShutdownRejectsUnknownHow(t *testing.T) {
	a, _ := udsStreamPair(t)
	require.Error(t, a.Shutdown(ShutdownHow(42)))
}

func TestZeroAndNilSocketsReportClosedInsteadOfPanicking(t *testing.T) {
	var nilStream *UnixStream
	var nilListener *UnixListener
	var nilDatagram *UnixDatagram
	var nilSender *PipeSender
	var nilReceiver *PipeReceiver
	buf := make([]byte, 8)
	for name, op := range map[string]func() error{
		"zero UnixStream.Read":    func() error { _, err := (&UnixStream{}).Read(buf); return err },
		"nil UnixStream.Write":    func() error { _, err := nilStream.Write(buf); return err },
		"nil UnixStream.PeerAddr": func() error { _, err := nilStream.PeerAddr(); return err },
		"nil UnixStream.Close":    func() error { return nilStream.Close() },
		"zero UnixListener.Accept": func() error {
			_, _, err := (&UnixListener{}).Accept()
			return err
		},
		"nil UnixListener.LocalAddr": func() error { _, err := nilListener.LocalAddr(); return err },
		"zero UnixDatagram.Recv":     func() error { _, err := (&UnixDatagram{}).Recv(buf); return err },
		"nil UnixDatagram.SendTo":    func() error { _, err := nilDatagram.SendTo(buf, "/x"); return err },
		"nil UnixDatagram.RecvFrom":  func() error { _, _, err := nilDatagram.RecvFrom(buf); return err },
		"nil UnixDatagram.Connect":   func() error { return nilDatagram.Connect("/x") },
		"nil PipeSender.Write":       func() error { _, err := nilSender.Write(buf); return err },
		"zero PipeReceiver.Read":     func() error { _, err := (&PipeReceiver{}).Read(buf); return err },
		"nil PipeReceiver.Close":     func() error { return nilReceiver.Close() },
	} {
		require.ErrorIs(t, op(), stdnet.ErrClosed, name)
	}
}
