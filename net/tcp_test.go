//go:build unix

package net_test

// Scenarios from mio's tests/tcp.rs and tests/regressions.rs, with metal's
// listener and stream on one side and, where a blocking peer is easier to
// follow, the standard library on the other.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

func TestTCPListenerAcceptsConnection(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))

	dialed := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr.String())
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()

	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	s, peer, err := l.Accept()
	require.NoError(t, err)
	defer s.Close()
	require.True(t, peer.Addr().IsLoopback())

	_, _, err = l.Accept()
	requireWouldBlock(t, err)
	require.NoError(t, <-dialed)
}

func TestTCPConnectIsWritableThenReadableWhenPeerCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l := testutil.StdListener(t, testutil.LoopbackV4)
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		c, err := l.AcceptTCP()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()

	s := connect(t, testutil.AddrOf(l))
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))
	require.NoError(t, s.TakeError())

	peer := <-accepted
	require.NotNil(t, peer)
	require.NoError(t, peer.Close())

	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable|testutil.ReadClosed))
	n, err := s.Read(make([]byte, 16))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
}

// closedPort returns a loopback address nobody listens on: a port the kernel
// just handed out and that was closed again.
func closedPort(t *testing.T) netip.AddrPort {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(testutil.LoopbackV4))
	require.NoError(t, err)
	addr := testutil.AddrOf(l)
	require.NoError(t, l.Close())
	return addr
}

func TestTCPConnectToClosedPortReportsError(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s, err := metalnet.ConnectTCP(closedPort(t))
	if err != nil {
		// Refused at once: allowed, and it must say why.
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		return
	}
	defer s.Close()
	require.NoError(t, p.Registry().Register(s, id1, poller.Writable))

	ev := testutil.PollUntil(t, p, events, func(ev poller.Event) bool {
		return ev.Token() == id1 && (ev.IsWritable() || ev.IsError())
	})
	require.True(t, ev.IsWritable() || ev.IsError(), "%v", ev)

	require.ErrorIs(t, s.TakeError(), syscall.ECONNREFUSED)
	require.NoError(t, s.TakeError(), "TakeError clears the error")
	_, err = s.PeerAddr()
	require.ErrorIs(t, err, syscall.ENOTCONN)
	testutil.ExpectNoEvents(t, p, events)
}

const bigTransfer = 16 << 20

// pattern fills b with the bytes a transfer carries from offset on, so that
// a lost, repeated or reordered chunk shows up.
func pattern(b []byte, offset int) {
	for i := range b {
		b[i] = byte((offset + i) % 251)
	}
}

func TestTCPTransfer16MiBEachWayDrainingToWouldBlock(t *testing.T) {
	t.Run("MetalReads", func(t *testing.T) {
		srv := testutil.StartServer(t, testutil.LoopbackV4, 1, func(c *net.TCPConn) error {
			buf := make([]byte, 64<<10)
			for off := 0; off < bigTransfer; off += len(buf) {
				pattern(buf, off)
				if _, err := c.Write(buf); err != nil {
					return err
				}
			}
			return nil
		})
		p, events := testutil.NewPoll(t)
		s := connect(t, srv.Addr)
		require.NoError(t, p.Registry().Register(s, id1, poller.Readable))

		buf := make([]byte, 32<<10)
		want := make([]byte, len(buf))
		total := 0
		for total < bigTransfer {
			testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
			// Edge-triggered: read until the kernel says would-block.
			for {
				n, err := s.Read(buf)
				if errors.Is(err, poller.ErrWouldBlock) {
					break
				}
				if total+n == bigTransfer && errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "after %d bytes", total)
				pattern(want[:n], total)
				require.True(t, bytes.Equal(want[:n], buf[:n]), "data differs at offset %d", total)
				total += n
				if total == bigTransfer {
					break
				}
			}
		}
		require.Equal(t, bigTransfer, total)
		require.NoError(t, srv.Wait())
	})

	t.Run("MetalWrites", func(t *testing.T) {
		received := make(chan int, 1)
		startReading := make(chan struct{})
		srv := testutil.StartServer(t, testutil.LoopbackV4, 1, func(c *net.TCPConn) error {
			buf := make([]byte, 64<<10)
			want := make([]byte, len(buf))
			total := 0
			defer func() { received <- total }()
			select {
			case <-startReading:
			case <-time.After(testutil.EventTimeout):
				return errors.New("the writer never filled its send buffer")
			}
			for total < bigTransfer {
				c.SetReadDeadline(time.Now().Add(testutil.EventTimeout))
				n, err := c.Read(buf)
				pattern(want[:n], total)
				if !bytes.Equal(want[:n], buf[:n]) {
					return errors.New("received data differs from what was sent")
				}
				total += n
				if err != nil {
					return err
				}
			}
			return nil
		})
		p, events := testutil.NewPoll(t)
		s := connect(t, srv.Addr)
		require.NoError(t, p.Registry().Register(s, id1, poller.Writable))

		buf := make([]byte, 32<<10)
		total := 0
		wouldBlocks := 0
		for total < bigTransfer {
			testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))
			// Edge-triggered: write until the send buffer is full. The
			// reader only starts once it has been full, so it must fill.
			for total < bigTransfer {
				chunk := buf[:min(len(buf), bigTransfer-total)]
				pattern(chunk, total)
				n, err := s.Write(chunk)
				total += n
				if errors.Is(err, poller.ErrWouldBlock) {
					if wouldBlocks == 0 {
						close(startReading)
					}
					wouldBlocks++
					break
				}
				require.NoError(t, err)
			}
		}
		require.NoError(t, s.Shutdown(metalnet.ShutdownWrite))
		require.Equal(t, bigTransfer, <-received)
		require.NoError(t, srv.Wait())
		require.Positive(t, wouldBlocks)
	})
}

func TestTCPStreamPeekLeavesDataQueued(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable))

	buf := make([]byte, 64)
	_, err := client.Peek(buf)
	requireWouldBlock(t, err)

	_, err = server.Write(data1)
	require.NoError(t, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))

	for range 2 {
		n, err := client.Peek(buf)
		require.NoError(t, err)
		require.Equal(t, data1, buf[:n])
	}
	n, err := client.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])
	_, err = client.Peek(buf)
	requireWouldBlock(t, err)
}

// requireDrainsToEOF reads s after a read shutdown: the data that was
// already queued (queued, which Linux still hands out and the BSDs discard)
// and then end of stream.
func requireDrainsToEOF(t *testing.T, s *metalnet.TCPStream, queued []byte) {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	if len(got) > 0 {
		require.Equal(t, queued, got)
	}
}

func TestTCPStreamShutdownRead(t *testing.T) {
	p, events := testutil.NewPoll(t)
	afterShutdown := make(chan []byte, 1)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, func(c *net.TCPConn) error {
		// Echo the first message, then collect the rest until end of stream.
		c.SetReadDeadline(time.Now().Add(testutil.EventTimeout))
		buf := make([]byte, len(data2))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
		rest, err := io.ReadAll(c)
		afterShutdown <- rest
		return err
	})
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	n, err := s.Write(data2)
	require.NoError(t, err)
	require.Equal(t, len(data2), n)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))

	require.NoError(t, s.Shutdown(metalnet.ShutdownRead))
	// Our own read shutdown makes the stream read-closed, and only that.
	ev := testutil.PollUntil(t, p, events, func(ev poller.Event) bool { return ev.Token() == id1 && ev.IsReadClosed() })
	require.True(t, ev.IsReadable(), "%v", ev)
	require.False(t, ev.IsWriteClosed(), "%v", ev)
	requireDrainsToEOF(t, s, data2)

	// The writing half is still open.
	_, err = s.Write(data1)
	require.NoError(t, err)
	require.NoError(t, s.Shutdown(metalnet.ShutdownWrite))
	require.Equal(t, data1, <-afterShutdown)
	require.NoError(t, srv.Wait())
}

func TestTCPStreamShutdownWrite(t *testing.T) {
	p, events := testutil.NewPoll(t)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, testutil.Echo)
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	n, err := s.Write(data1)
	require.NoError(t, err)
	require.Equal(t, len(data1), n)
	require.NoError(t, s.Shutdown(metalnet.ShutdownWrite))

	_, err = s.Write(data2)
	require.ErrorIs(t, err, syscall.EPIPE)

	// The echo server gets end of stream, echoes what it had and closes:
	// the stream ends up both read- and write-closed, and we read the data,
	// then end of stream.
	testutil.PollUntil(t, p, events, func(ev poller.Event) bool {
		return ev.Token() == id1 && ev.IsReadClosed() && ev.IsWriteClosed()
	})
	buf := make([]byte, 20)
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, srv.Wait())
}

func TestTCPStreamShutdownBoth(t *testing.T) {
	p, events := testutil.NewPoll(t)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, testutil.Echo)
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	_, err := s.Write(data1)
	require.NoError(t, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))

	require.NoError(t, s.Shutdown(metalnet.ShutdownBoth))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.ReadClosed|testutil.WriteClosed))

	requireDrainsToEOF(t, s, data1)
	_, err = s.Write(data2)
	require.ErrorIs(t, err, syscall.EPIPE)

	require.NoError(t, s.Close())
	require.NoError(t, srv.Wait())
}

func TestTCPStreamShutdownRejectsUnknownHow(t *testing.T) {
	client, _ := connectedPair(t, testutil.LoopbackV4)
	err := client.Shutdown(metalnet.ShutdownHow(7))
	require.Error(t, err)
	require.Contains(t, err.Error(), "invalid ShutdownHow")
}

// A peer that shuts down its writing half makes the stream read-closed and
// never write-closed: it can still be written to. (EPOLLRDHUP alone must not
// be read as a hang-up.)
func TestTCPPeerWriteShutdownIsReadClosedNotWriteClosed(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l := testutil.StdListener(t, testutil.LoopbackV4)
	s := connect(t, testutil.AddrOf(l))
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	peer, err := l.AcceptTCP()
	require.NoError(t, err)
	defer peer.Close()

	for _, ev := range testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable)) {
		require.False(t, ev.IsReadClosed() || ev.IsWriteClosed(), "%v before any shutdown", ev)
	}
	testutil.ExpectNoEvents(t, p, events)

	require.NoError(t, peer.CloseWrite())

	ev := testutil.PollUntil(t, p, events, func(ev poller.Event) bool { return ev.Token() == id1 && ev.IsReadable() })
	require.True(t, ev.IsReadClosed(), "%v", ev)
	require.False(t, ev.IsWriteClosed(), "peer's write shutdown reported as write-closed: %v", ev)
	require.False(t, ev.IsError(), "%v", ev)

	_, err = s.Read(make([]byte, 8))
	require.ErrorIs(t, err, io.EOF)

	// And writing still works, all the way to the peer.
	n, err := s.Write(data1)
	require.NoError(t, err)
	require.Equal(t, len(data1), n)
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(testutil.EventTimeout)))
	got := make([]byte, len(data1))
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	require.Equal(t, data1, got)
}

func TestTCPResetByPeerGivesErrorAndClosedFlags(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(server, id1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)

	require.NoError(t, client.SetLinger(0))
	require.NoError(t, client.Close())

	sawError := false
	ev := testutil.PollUntil(t, p, events, func(ev poller.Event) bool {
		sawError = sawError || (ev.Token() == id1 && ev.IsError())
		return ev.Token() == id1 && ev.IsReadClosed() && ev.IsWriteClosed()
	})
	require.True(t, ev.IsReadable(), "%v", ev)
	require.True(t, sawError || ev.IsError(), "a reset is an error condition: %v", ev)

	_, err := server.Read(make([]byte, 16))
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF), "got %v", err)
}

func TestTCPWriteAfterPeerClosedEventuallyFails(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))
	require.NoError(t, server.Close())

	buf := make([]byte, 1024)
	for {
		_, err := client.Write(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, poller.ErrWouldBlock) {
			testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))
			continue
		}
		require.True(t, errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET), "got %v", err)
		return
	}
}

func TestTCPWriteThenCloseDeliversAllData(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	s := connect(t, addr)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.NoError(t, p.Registry().Register(s, id3, poller.Readable))

	s2, _ := acceptOne(t, p, events, l, id1)
	require.NoError(t, p.Registry().Register(s2, id2, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Writable))

	n, err := s2.Write([]byte{1, 2, 3, 4})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.NoError(t, p.Registry().Deregister(s2))
	require.NoError(t, s2.Close())

	testutil.ExpectEvents(t, p, events, testutil.Expect(id3, testutil.Readable))
	buf := make([]byte, 10)
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3, 4}, buf[:n])
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestTCPWriteThenDeregisterDeliversData(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable))
	require.NoError(t, p.Registry().Register(server, id2, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Writable))

	_, err := server.Write([]byte{1, 2, 3, 4})
	require.NoError(t, err)
	require.NoError(t, p.Registry().Deregister(server))

	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	buf := make([]byte, 10)
	n, err := client.Read(buf)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3, 4}, buf[:n])
}

func TestTCPLevelTriggeredRepeatsEventsUntilDrained(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable|poller.Level))
	testutil.ExpectNoEvents(t, p, events)

	_, err := server.Write(data1)
	require.NoError(t, err)
	for range 3 {
		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	}
	buf := make([]byte, 64)
	n, err := client.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPOneshotGivesOneEventUntilReregistered(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable|poller.Oneshot))

	_, err := server.Write(data1)
	require.NoError(t, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))

	// Disarmed: more data brings no event.
	_, err = server.Write(data2)
	require.NoError(t, err)
	testutil.ExpectNoEvents(t, p, events)

	// Re-armed (with a new token): the data still queued is reported.
	require.NoError(t, p.Registry().Reregister(client, id2, poller.Readable|poller.Oneshot))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	testutil.ExpectNoEvents(t, p, events)

	require.NoError(t, p.Registry().Reregister(client, id3, poller.Readable))
	want := append(append([]byte{}, data1...), data2...)
	got := make([]byte, len(want))
	readFull(t, p, events, client, id3, got)
	require.Equal(t, want, got)
}

func TestTCPReregisterReplacesTokenAndInterest(t *testing.T) {
	p, events := testutil.NewPoll(t)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, testutil.Echo)
	s := connect(t, srv.Addr)

	require.NoError(t, p.Registry().Register(s, id1, poller.Readable))
	require.NoError(t, p.Registry().Reregister(s, id2, poller.Writable))

	for _, ev := range testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Writable)) {
		require.Equal(t, id2, ev.Token(), "event with the old token: %v", ev)
	}
	peer, err := s.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, srv.Addr, peer)

	// Writable only now: the echo coming back raises no readable event.
	_, err = s.Write(data1)
	require.NoError(t, err)
	testutil.ExpectNoEvents(t, p, events)

	// Take the echo, so that closing does not reset the connection.
	require.NoError(t, p.Registry().Reregister(s, id3, poller.Readable))
	buf := make([]byte, len(data1))
	readFull(t, p, events, s, id3, buf)
	require.Equal(t, data1, buf)

	require.NoError(t, s.Close())
	require.NoError(t, srv.Wait())
}

func TestTCPNoEventsAfterDeregister(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	s := connect(t, addr)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.NoError(t, p.Registry().Register(s, id3, poller.Readable))

	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	s2, peerAddr, err := l.Accept()
	require.NoError(t, err)
	defer s2.Close()
	require.True(t, peerAddr.Addr().IsLoopback())
	got, err := s2.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, peerAddr, got)
	got, err = s2.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, addr, got)

	require.NoError(t, p.Registry().Register(s2, id2, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Writable))
	_, err = s2.Write([]byte{1, 2, 3, 4})
	require.NoError(t, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id3, testutil.Readable))

	require.NoError(t, p.Registry().Deregister(l))
	require.NoError(t, p.Registry().Deregister(s))
	require.NoError(t, p.Registry().Deregister(s2))
	testutil.ExpectNoEvents(t, p, events)

	buf := make([]byte, 10)
	n, err := s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3, 4}, buf[:n])

	_, err = s2.Write([]byte{5, 6, 7, 8})
	require.NoError(t, err)
	testutil.ExpectNoEvents(t, p, events)

	// The data arrives all the same: a second Poll, which s is now free to
	// join, sees it.
	p2, events2 := testutil.NewPoll(t)
	require.NoError(t, p2.Registry().Register(s, id3, poller.Readable))
	readFull(t, p2, events2, s, id3, buf[:4])
	require.Equal(t, []byte{5, 6, 7, 8}, buf[:4])
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPEdgeTriggeredRearmsAfterWouldBlock(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(client, id1, poller.Readable))

	buf := make([]byte, 64)
	for round := range 3 {
		_, err := server.Write(data1)
		require.NoError(t, err)
		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
		n, err := client.Read(buf)
		require.NoError(t, err, "round %d", round)
		require.Equal(t, data1, buf[:n])
		_, err = client.Read(buf)
		requireWouldBlock(t, err)
		// Drained: silence until new data.
		testutil.ExpectNoEvents(t, p, events)
	}
}

func TestTCPLocalAndPeerAddrOnceReady(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	s := connect(t, addr)
	require.NoError(t, p.Registry().Register(s, id2, poller.Readable))

	accepted, _ := acceptOne(t, p, events, l, id1)
	require.NoError(t, p.Registry().Register(accepted, id3, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id3, testutil.Writable))

	apeer, err := accepted.PeerAddr()
	require.NoError(t, err)
	alocal, err := accepted.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, addr, alocal)
	n, err := accepted.Write([]byte{1, 2, 3})
	require.NoError(t, err)
	require.Equal(t, 3, n)

	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	speer, err := s.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, addr, speer)
	slocal, err := s.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, apeer, slocal)
}

func TestTCPMultipleWritesSucceedImmediately(t *testing.T) {
	const n = 16
	received := make(chan []byte, 1)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, func(c *net.TCPConn) error {
		c.SetReadDeadline(time.Now().Add(testutil.EventTimeout))
		b, err := io.ReadAll(c)
		received <- b
		return err
	})
	p, events := testutil.NewPoll(t)
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	chunk := bytes.Repeat([]byte{1}, 1024)
	for range n {
		w, err := s.Write(chunk)
		require.NoError(t, err)
		require.Equal(t, len(chunk), w)
	}
	require.NoError(t, s.Close())
	require.Equal(t, bytes.Repeat([]byte{1}, n*1024), <-received)
	require.NoError(t, srv.Wait())
}

// mio regression 1205: a listener deregistered before a connection arrives
// reports nothing, while a Waker's event still comes through.
func TestTCPDeregisteredListenerStaysQuietBesideWaker(t *testing.T) {
	p, events := testutil.NewPoll(t)
	const wakeTok poller.Token = 10
	w, err := poller.NewWaker(p.Registry(), wakeTok)
	require.NoError(t, err)
	defer w.Close()

	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len())

	connect(t, addr)
	require.NoError(t, p.Registry().Deregister(l))
	require.NoError(t, w.Wake())

	require.NoError(t, p.Poll(events, testutil.EventTimeout))
	require.Equal(t, 1, events.Len(), "only the waker's event")
	require.Equal(t, wakeTok, events.At(0).Token())
	require.True(t, events.At(0).IsReadable())
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPListenerClosedWhileRegisteredGivesNoEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, err := metalnet.ListenTCP(testutil.LoopbackV4)
	require.NoError(t, err)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.NoError(t, l.Close())
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPListenTwiceOnOneAddressFails(t *testing.T) {
	_, addr := listen(t, testutil.LoopbackV4)
	l2, err := metalnet.ListenTCP(addr)
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	require.Nil(t, l2)
}

func TestTCPListenReusePortSharesAddress(t *testing.T) {
	cfg := metalnet.ListenConfig{ReusePort: true, Backlog: 16}
	l1, err := cfg.ListenTCP(testutil.LoopbackV4)
	require.NoError(t, err)
	defer l1.Close()
	addr, err := l1.LocalAddr()
	require.NoError(t, err)
	l2, err := cfg.ListenTCP(addr)
	require.NoError(t, err)
	defer l2.Close()
	addr2, err := l2.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, addr, addr2)
}
