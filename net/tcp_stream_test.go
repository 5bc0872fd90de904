//go:build unix

package net_test

// Scenarios from mio's tests/tcp_stream.rs and tests/tcp_listener.rs.

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

// waitBuffered polls until s has at least n bytes queued to read (s is
// registered Readable with tok), so that one read returns them all.
func waitBuffered(t *testing.T, p *poller.Poll, events *poller.Events, s *metalnet.TCPStream, tok poller.Token, n int) {
	t.Helper()
	buf := make([]byte, n)
	for {
		got, err := s.Peek(buf)
		if err == nil && got >= n {
			return
		}
		if err != nil {
			require.ErrorIs(t, err, poller.ErrWouldBlock)
		}
		testutil.ExpectEvents(t, p, events, testutil.Expect(tok, testutil.Readable))
	}
}

func TestTCPStreamSmoke(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		p, events := testutil.NewPoll(t)
		srv := testutil.StartServer(t, addr, 1, testutil.Echo)
		s := connect(t, srv.Addr)
		require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

		// Connected, nothing to read yet (mio regression 776).
		buf := make([]byte, 16)
		_, err := s.Peek(buf)
		requireWouldBlock(t, err)
		_, err = s.Read(buf)
		requireWouldBlock(t, err)

		// Addresses are known once the writable event has come.
		peer, err := s.PeerAddr()
		require.NoError(t, err)
		require.Equal(t, srv.Addr, peer)
		local, err := s.LocalAddr()
		require.NoError(t, err)
		require.True(t, local.Addr().IsLoopback())

		n, err := s.Write(data1)
		require.NoError(t, err)
		require.Equal(t, len(data1), n)

		waitBuffered(t, p, events, s, id1, len(data1))
		n, err = s.Peek(buf)
		require.NoError(t, err)
		require.Equal(t, data1, buf[:n])
		n, err = s.Read(buf)
		require.NoError(t, err)
		require.Equal(t, data1, buf[:n])
		require.NoError(t, s.TakeError())

		n, err = s.WriteV([][]byte{data1, data2})
		require.NoError(t, err)
		require.Equal(t, len(data1)+len(data2), n)

		waitBuffered(t, p, events, s, id1, len(data1)+len(data2))
		buf1 := make([]byte, len(data1))
		buf2 := []byte("222222222222") // one byte longer than data2
		n, err = s.ReadV([][]byte{buf1, buf2})
		require.NoError(t, err)
		require.Equal(t, len(data1)+len(data2), n)
		require.Equal(t, data1, buf1)
		require.Equal(t, data2, buf2[:len(data2)])
		require.Equal(t, byte('2'), buf2[len(data2)], "the byte past the data is untouched")

		require.NoError(t, s.Close())
		require.NoError(t, srv.Wait())
	})
}

func TestTCPStreamTTL(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		client, _ := connectedPair(t, addr)
		ttl, err := client.TTL()
		require.NoError(t, err)
		require.Positive(t, ttl)
		require.NoError(t, client.SetTTL(10))
		ttl, err = client.TTL()
		require.NoError(t, err)
		require.Equal(t, 10, ttl)
		require.NoError(t, client.TakeError())
	})
}

func TestTCPStreamNoDelay(t *testing.T) {
	client, _ := connectedPair(t, testutil.LoopbackV4)
	for _, on := range []bool{true, false, true} {
		require.NoError(t, client.SetNoDelay(on))
		got, err := client.NoDelay()
		require.NoError(t, err)
		require.Equal(t, on, got)
	}
	require.NoError(t, client.TakeError())
}

func TestTCPStreamLinger(t *testing.T) {
	client, _ := connectedPair(t, testutil.LoopbackV4)
	sec, err := client.Linger()
	require.NoError(t, err)
	require.Equal(t, -1, sec, "lingering is off by default")
	for _, want := range []int{0, 5, -1} {
		require.NoError(t, client.SetLinger(want))
		got, err := client.Linger()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestTCPStreamKeepAlive(t *testing.T) {
	client, _ := connectedPair(t, testutil.LoopbackV4)
	for _, on := range []bool{true, false} {
		require.NoError(t, client.SetKeepAlive(on))
		got, err := client.KeepAlive()
		require.NoError(t, err)
		require.Equal(t, on, got)
	}
	err := client.SetKeepAlivePeriod(1500 * time.Millisecond)
	if runtime.GOOS == "openbsd" {
		require.ErrorIs(t, err, errors.ErrUnsupported)
	} else {
		require.NoError(t, err)
	}
	require.Error(t, client.SetKeepAlivePeriod(0))
	require.Error(t, client.SetKeepAlivePeriod(-time.Second))
}

func TestTCPStreamTakeErrorOnHealthySocketIsNil(t *testing.T) {
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, client.TakeError())
	require.NoError(t, server.TakeError())
}

func TestTCPStreamRegisteringGivesNoEventWithoutData(t *testing.T) {
	p, events := testutil.NewPoll(t)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, testutil.Echo)
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)
	require.NoError(t, s.Close())
	require.NoError(t, srv.Wait())
}

func TestTCPStreamDeregisteredGivesNoEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	srv := testutil.StartServer(t, testutil.LoopbackV4, 1, testutil.Echo)
	s := connect(t, srv.Addr)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Deregister(s))
	testutil.ExpectNoEvents(t, p, events)

	// Still a working connection: another Poll sees it connect.
	p2, events2 := testutil.NewPoll(t)
	require.NoError(t, p2.Registry().Register(s, id2, poller.Writable))
	testutil.ExpectEvents(t, p2, events2, testutil.Expect(id2, testutil.Writable))
	peer, err := s.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, srv.Addr, peer)
	require.NoError(t, s.Close())
	require.NoError(t, srv.Wait())
}

func TestTCPStreamPeerAddrBeforeConnectIsNotConnected(t *testing.T) {
	// A listener whose accept queue is full drops new SYNs, leaving a
	// connect pending: the one way to observe a pending connect on loopback
	// without racing the kernel.
	cfg := metalnet.ListenConfig{Backlog: 1}
	l, err := cfg.ListenTCP(testutil.LoopbackV4)
	require.NoError(t, err)
	defer l.Close()
	addr, err := l.LocalAddr()
	require.NoError(t, err)
	var streams []*metalnet.TCPStream
	defer func() {
		for _, s := range streams {
			s.Close()
		}
	}()
	for range 8 {
		s, err := metalnet.ConnectTCP(addr)
		require.NoError(t, err)
		streams = append(streams, s)
		if _, err := s.PeerAddr(); err != nil {
			require.ErrorIs(t, err, syscall.ENOTCONN)
			return
		}
	}
	t.Fatal("8 connects to a listener with backlog 1 all completed at once")
}

func TestTCPListenerSmoke(t *testing.T) {
	run := func(t *testing.T, l *metalnet.TCPListener) {
		p, events := testutil.NewPoll(t)
		addr, err := l.LocalAddr()
		require.NoError(t, err)
		testutil.RequireNonblockCloexec(t, metalnet.FdOf(l))
		require.NoError(t, p.Registry().Register(l, id1, poller.Readable))

		release := make(chan struct{})
		defer close(release)
		dialed := make(chan net.Conn, 1)
		go func() {
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				close(dialed)
				return
			}
			dialed <- c
			<-release
			c.Close()
		}()

		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
		s, peer, err := l.Accept()
		require.NoError(t, err)
		defer s.Close()
		testutil.RequireNonblockCloexec(t, metalnet.FdOf(s))
		require.True(t, peer.Addr().IsLoopback())
		got, err := s.PeerAddr()
		require.NoError(t, err)
		require.Equal(t, peer, got)
		got, err = s.LocalAddr()
		require.NoError(t, err)
		require.Equal(t, addr, got)

		c := <-dialed
		require.NotNil(t, c)
		require.Equal(t, c.LocalAddr().(*net.TCPAddr).AddrPort(), peer)

		_, err = s.Read(make([]byte, 20))
		requireWouldBlock(t, err)
		_, _, err = l.Accept()
		requireWouldBlock(t, err)
		require.NoError(t, l.TakeError())
	}

	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		l, _ := listen(t, addr)
		run(t, l)
	})
	t.Run("FromStd", func(t *testing.T) {
		std, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(testutil.LoopbackV4))
		require.NoError(t, err)
		l, err := metalnet.TCPListenerFromStd(std)
		require.NoError(t, err)
		defer l.Close()
		run(t, l)
	})
}

func TestTCPListenerTTL(t *testing.T) {
	l, _ := listen(t, testutil.LoopbackV4)
	_, err := l.TTL()
	require.NoError(t, err)
	require.NoError(t, l.SetTTL(10))
	ttl, err := l.TTL()
	require.NoError(t, err)
	require.Equal(t, 10, ttl)
	require.NoError(t, l.TakeError())
}

func TestTCPListenerRegisteringGivesNoEventWithoutConnection(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, _ := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPListenerReregisterUsesNewToken(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.NoError(t, p.Registry().Reregister(l, id2, poller.Readable))

	connect(t, addr)
	for _, ev := range testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable)) {
		require.Equal(t, id2, ev.Token())
	}
	_, _, err := l.Accept()
	require.NoError(t, err)
	_, _, err = l.Accept()
	requireWouldBlock(t, err)
}

func TestTCPListenerNoEventsAfterDeregisterButStillAccepts(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	c := connect(t, addr)
	require.NoError(t, p.Registry().Deregister(l))
	testutil.ExpectNoEvents(t, p, events)

	// The connection is queued all the same. Wait for the client side to
	// be connected (which on loopback means it is in the accept queue).
	require.NoError(t, p.Registry().Register(c, id2, poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Writable))
	s, peer, err := l.Accept()
	require.NoError(t, err)
	defer s.Close()
	local, err := c.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, local, peer)
	_, _, err = l.Accept()
	requireWouldBlock(t, err)
}

func TestTCPListenerEachNewConnectionGivesAnEvent(t *testing.T) {
	p, events := testutil.NewPoll(t)
	l, addr := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))

	for range 2 {
		connect(t, addr)
		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
		s, _, err := l.Accept()
		require.NoError(t, err)
		s.Close()
		_, _, err = l.Accept()
		requireWouldBlock(t, err)
	}
	testutil.ExpectNoEvents(t, p, events)
}

func TestTCPAcceptedStreamReadsEndOfStreamWhenClientCloses(t *testing.T) {
	p, events := testutil.NewPoll(t)
	client, server := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(server, id1, poller.Readable))
	require.NoError(t, client.Close())
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable|testutil.ReadClosed))
	_, err := server.Read(make([]byte, 8))
	require.ErrorIs(t, err, io.EOF)
}
