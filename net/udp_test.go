//go:build unix

package net_test

// Scenarios from mio's tests/udp_socket.rs.

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

// requireRecvFrom receives one datagram and checks its payload and sender.
func requireRecvFrom(t *testing.T, recv func([]byte) (int, netip.AddrPort, error), want []byte, from netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 64)
	n, got, err := recv(buf)
	require.NoError(t, err)
	require.Equal(t, want, buf[:n])
	require.Equal(t, from, got)
}

// requireRecv receives one datagram and checks its payload.
func requireRecv(t *testing.T, recv func([]byte) (int, error), want []byte) {
	t.Helper()
	buf := make([]byte, 64)
	n, err := recv(buf)
	require.NoError(t, err)
	require.Equal(t, want, buf[:n])
}

// requireSent sends with send and checks the whole datagram went.
func requireSent(t *testing.T, want []byte, n int, err error) {
	t.Helper()
	require.NoError(t, err)
	require.Equal(t, len(want), n, "short send")
}

func TestUDPEmptyDatagramIsReadable(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, addr1 := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s1, id1, poller.Writable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	n, err := s1.SendTo(nil, addr2)
	requireSent(t, nil, n, err)

	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	buf := make([]byte, 10)
	n, from, err := s2.RecvFrom(buf)
	require.NoError(t, err, "a zero-length datagram is not end of stream")
	require.Zero(t, n)
	require.Equal(t, addr1, from)
	_, _, err = s2.RecvFrom(buf)
	requireWouldBlock(t, err)
}

// unconnectedSmoke exchanges a datagram each way between two unconnected
// sockets with SendTo, PeekFrom and RecvFrom.
func unconnectedSmoke(t *testing.T, s1, s2 *metalnet.UDPSocket) {
	p, events := testutil.NewPoll(t)
	testutil.RequireNonblockCloexec(t, metalnet.FdOf(s1))
	testutil.RequireNonblockCloexec(t, metalnet.FdOf(s2))
	addr1, err := s1.LocalAddr()
	require.NoError(t, err)
	addr2, err := s2.LocalAddr()
	require.NoError(t, err)

	require.NoError(t, p.Registry().Register(s1, id1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events,
		testutil.Expect(id1, testutil.Writable), testutil.Expect(id2, testutil.Writable))

	buf := make([]byte, 20)
	_, _, err = s1.PeekFrom(buf)
	requireWouldBlock(t, err)
	_, _, err = s1.RecvFrom(buf)
	requireWouldBlock(t, err)

	n, err := s1.SendTo(data1, addr2)
	requireSent(t, data1, n, err)
	n, err = s2.SendTo(data2, addr1)
	requireSent(t, data2, n, err)

	testutil.ExpectEvents(t, p, events,
		testutil.Expect(id1, testutil.Readable), testutil.Expect(id2, testutil.Readable))

	requireRecvFrom(t, s1.PeekFrom, data2, addr2)
	requireRecvFrom(t, s2.PeekFrom, data1, addr1)
	requireRecvFrom(t, s1.RecvFrom, data2, addr2)
	requireRecvFrom(t, s2.RecvFrom, data1, addr1)

	require.NoError(t, s1.TakeError())
	require.NoError(t, s2.TakeError())
}

func TestUDPUnconnectedSendToRecvFrom(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		s1, _ := bindUDP(t, addr)
		s2, _ := bindUDP(t, addr)
		unconnectedSmoke(t, s1, s2)
	})
	t.Run("FromStd", func(t *testing.T) {
		s1 := adoptUDP(t)
		s2 := adoptUDP(t)
		unconnectedSmoke(t, s1, s2)
	})
}

// adoptUDP opens a standard-library UDP socket on IPv4 loopback and takes
// it over.
func adoptUDP(t *testing.T) *metalnet.UDPSocket {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(testutil.LoopbackV4))
	require.NoError(t, err)
	u, err := metalnet.UDPSocketFromStd(c)
	require.NoError(t, err)
	t.Cleanup(func() { u.Close() })
	return u
}

// connectedSmoke exchanges a datagram each way between two sockets
// connected to each other, with Send, Peek and Recv.
func connectedSmoke(t *testing.T, s1, s2 *metalnet.UDPSocket) {
	p, events := testutil.NewPoll(t)
	testutil.RequireNonblockCloexec(t, metalnet.FdOf(s1))
	testutil.RequireNonblockCloexec(t, metalnet.FdOf(s2))
	require.NoError(t, p.Registry().Register(s1, id1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events,
		testutil.Expect(id1, testutil.Writable), testutil.Expect(id2, testutil.Writable))

	buf := make([]byte, 20)
	_, err := s1.Peek(buf)
	requireWouldBlock(t, err)
	_, err = s1.Recv(buf)
	requireWouldBlock(t, err)

	n, err := s1.Send(data1)
	requireSent(t, data1, n, err)
	n, err = s2.Send(data2)
	requireSent(t, data2, n, err)

	testutil.ExpectEvents(t, p, events,
		testutil.Expect(id1, testutil.Readable), testutil.Expect(id2, testutil.Readable))

	requireRecv(t, s1.Peek, data2)
	requireRecv(t, s2.Peek, data1)
	requireRecv(t, s1.Recv, data2)
	requireRecv(t, s2.Recv, data1)

	require.NoError(t, s1.TakeError())
	require.NoError(t, s2.TakeError())
}

// connectEachOther connects s1 and s2 to each other.
func connectEachOther(t *testing.T, s1, s2 *metalnet.UDPSocket) {
	t.Helper()
	addr1, err := s1.LocalAddr()
	require.NoError(t, err)
	addr2, err := s2.LocalAddr()
	require.NoError(t, err)
	require.NoError(t, s1.Connect(addr2))
	require.NoError(t, s2.Connect(addr1))
	peer, err := s1.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, addr2, peer)
}

func TestUDPConnectedSendRecv(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		s1, _ := bindUDP(t, addr)
		s2, _ := bindUDP(t, addr)
		connectEachOther(t, s1, s2)
		connectedSmoke(t, s1, s2)
	})
	t.Run("FromStd", func(t *testing.T) {
		s1 := adoptUDP(t)
		s2 := adoptUDP(t)
		connectEachOther(t, s1, s2)
		connectedSmoke(t, s1, s2)
	})
}

func TestUDPReconnectSendsToNewPeer(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, addr1 := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	s3, addr3 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, s1.Connect(addr2))
	require.NoError(t, s2.Connect(addr1))
	require.NoError(t, s3.Connect(addr1))

	require.NoError(t, p.Registry().Register(s1, id1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable))
	require.NoError(t, p.Registry().Register(s3, id3, poller.Readable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	n, err := s1.Send(data1)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	requireRecv(t, s2.Recv, data1)

	require.NoError(t, s1.Connect(addr3))
	n, err = s1.Send(data2)
	requireSent(t, data2, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id3, testutil.Readable))
	requireRecv(t, s3.Recv, data2)

	for _, s := range []*metalnet.UDPSocket{s1, s2, s3} {
		require.NoError(t, s.TakeError())
	}
}

func TestUDPReconnectReceivesFromNewPeerOnly(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, addr1 := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	s3, addr3 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, s1.Connect(addr2))
	require.NoError(t, s2.Connect(addr1))
	require.NoError(t, s3.Connect(addr1))

	require.NoError(t, p.Registry().Register(s1, id1, poller.Readable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Writable))
	require.NoError(t, p.Registry().Register(s3, id3, poller.Writable))
	testutil.ExpectEvents(t, p, events,
		testutil.Expect(id2, testutil.Writable), testutil.Expect(id3, testutil.Writable))

	n, err := s2.Send(data1)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	requireRecv(t, s1.Recv, data1)
	_, err = s1.Recv(make([]byte, 20))
	requireWouldBlock(t, err)

	// Connected to s3 now: s2's datagrams are refused (the kernel answers
	// with ICMP port unreachable, which s2, being connected, hears about
	// as an error event and ECONNREFUSED), and s3's arrive.
	require.NoError(t, s1.Connect(addr3))
	n, err = s2.Send(data1)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Error))
	require.ErrorIs(t, s2.TakeError(), syscall.ECONNREFUSED)
	require.NoError(t, s2.TakeError())
	n, err = s3.Send(data2)
	requireSent(t, data2, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	requireRecvFrom(t, s1.RecvFrom, data2, addr3)
	_, err = s1.Recv(make([]byte, 20))
	requireWouldBlock(t, err)

	require.NoError(t, s1.Connect(addr2))
	n, err = s2.Send(data2)
	requireSent(t, data2, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	requireRecvFrom(t, s1.RecvFrom, data2, addr2)
}

func TestUDPSendWithoutPeerFails(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, _ := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s1, id1, poller.Writable))
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable))

	_, err := s1.Send(data1)
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.EDESTADDRREQ) || errors.Is(err, syscall.ENOTCONN), "got %v", err)
	_, err = s1.PeerAddr()
	require.ErrorIs(t, err, syscall.ENOTCONN)

	// Receiving needs no peer: Recv and Peek just do not say who sent.
	n, err := s1.SendTo(data1, addr2)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	requireRecv(t, s2.Peek, data1)
	requireRecv(t, s2.Recv, data1)
	require.NoError(t, s1.TakeError())
	require.NoError(t, s2.TakeError())
}

func TestUDPConnectedSocketStillReceivesFromItsPeerWithRecvFrom(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	s3, addr3 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, s3.Connect(addr2))
	require.NoError(t, p.Registry().Register(s3, id3, poller.Readable))

	n, err := s2.SendTo(data2, addr3)
	requireSent(t, data2, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id3, testutil.Readable))
	requireRecvFrom(t, s3.PeekFrom, data2, addr2)
	requireRecvFrom(t, s3.RecvFrom, data2, addr2)
}

func TestUDPConnectedSocketDropsOtherSenders(t *testing.T) {
	p, events := testutil.NewPoll(t)
	tx, txAddr := bindUDP(t, testutil.LoopbackV4)
	rx, rxAddr := bindUDP(t, testutil.LoopbackV4)
	outsider, _ := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, tx.Connect(rxAddr))
	require.NoError(t, rx.Connect(txAddr))
	require.NoError(t, p.Registry().Register(rx, id1, poller.Readable))

	n, err := outsider.SendTo(data1, rxAddr)
	requireSent(t, data1, n, err)
	testutil.ExpectNoEvents(t, p, events)
	_, err = rx.Recv(make([]byte, 20))
	requireWouldBlock(t, err)
}

func TestUDPEdgeTriggeredRearmsAfterWouldBlock(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, addr1 := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable))

	for range 2 {
		n, err := s1.SendTo(data1, addr2)
		requireSent(t, data1, n, err)
		testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
		requireRecvFrom(t, s2.RecvFrom, data1, addr1)
		_, _, err = s2.RecvFrom(make([]byte, 20))
		requireWouldBlock(t, err)
		testutil.ExpectNoEvents(t, p, events)
	}
}

func TestUDPReregisterChangesInterest(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s, addr := bindUDP(t, testutil.LoopbackV4)
	sender, senderAddr := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s, id1, poller.Writable))
	n, err := sender.SendTo(data1, addr)
	requireSent(t, data1, n, err)

	for _, ev := range testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Writable)) {
		require.False(t, ev.IsReadable(), "registered Writable only: %v", ev)
	}
	require.NoError(t, p.Registry().Reregister(s, id2, poller.Readable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	requireRecvFrom(t, s.RecvFrom, data1, senderAddr)
}

func TestUDPNoEventsAfterDeregister(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s, addr := bindUDP(t, testutil.LoopbackV4)
	sender, senderAddr := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s, id1, poller.Readable))
	require.NoError(t, p.Registry().Deregister(s))
	n, err := sender.SendTo(data1, addr)
	requireSent(t, data1, n, err)
	testutil.ExpectNoEvents(t, p, events)

	// The datagram is there all the same, as a second Poll shows.
	p2, events2 := testutil.NewPoll(t)
	require.NoError(t, p2.Registry().Register(s, id2, poller.Readable))
	testutil.ExpectEvents(t, p2, events2, testutil.Expect(id2, testutil.Readable))
	requireRecvFrom(t, s.RecvFrom, data1, senderAddr)
}

func TestUDPTruncatesLongDatagramToBuffer(t *testing.T) {
	p, events := testutil.NewPoll(t)
	s1, addr1 := bindUDP(t, testutil.LoopbackV4)
	s2, addr2 := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(s2, id2, poller.Readable))
	n, err := s1.SendTo(data1, addr2)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))

	buf := make([]byte, 5)
	n, from, err := s2.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, data1[:5], buf[:n])
	require.Equal(t, addr1, from)
	_, _, err = s2.RecvFrom(buf)
	requireWouldBlock(t, err)
}

func TestUDPTTL(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		s, _ := bindUDP(t, addr)
		_, err := s.TTL()
		require.NoError(t, err)
		require.NoError(t, s.SetTTL(10))
		ttl, err := s.TTL()
		require.NoError(t, err)
		require.Equal(t, 10, ttl)
		require.NoError(t, s.TakeError())
	})
}

func TestUDPBroadcast(t *testing.T) {
	s, _ := bindUDP(t, testutil.LoopbackV4)
	on, err := s.Broadcast()
	require.NoError(t, err)
	require.False(t, on, "off by default")
	for _, want := range []bool{true, false} {
		require.NoError(t, s.SetBroadcast(want))
		got, err := s.Broadcast()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	require.NoError(t, s.TakeError())
}

func TestUDPMulticastOptionsV4(t *testing.T) {
	s, _ := bindUDP(t, testutil.LoopbackV4)
	_, err := s.MulticastLoopV4()
	require.NoError(t, err)
	for _, want := range []bool{true, false} {
		require.NoError(t, s.SetMulticastLoopV4(want))
		got, err := s.MulticastLoopV4()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	ttl, err := s.MulticastTTLV4()
	require.NoError(t, err)
	require.Equal(t, 1, ttl, "multicast stays on the local network by default")
	require.NoError(t, s.SetMulticastTTLV4(10))
	ttl, err = s.MulticastTTLV4()
	require.NoError(t, err)
	require.Equal(t, 10, ttl)
	require.Error(t, s.SetMulticastTTLV4(256))
	require.Error(t, s.SetMulticastTTLV4(-1))
	require.NoError(t, s.TakeError())
}

func TestUDPMulticastLoopV6(t *testing.T) {
	if !testutil.HasIPv6Loopback() {
		t.Skip("no IPv6 loopback ([::1]) on this machine")
	}
	s, _ := bindUDP(t, testutil.LoopbackV6)
	_, err := s.MulticastLoopV6()
	require.NoError(t, err)
	for _, want := range []bool{true, false} {
		require.NoError(t, s.SetMulticastLoopV6(want))
		got, err := s.MulticastLoopV6()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	require.NoError(t, s.TakeError())
}

func TestUDPOnlyV6(t *testing.T) {
	if !testutil.HasIPv6Loopback() {
		t.Skip("no IPv6 loopback ([::1]) on this machine")
	}
	s, _ := bindUDP(t, netip.MustParseAddrPort("[::]:0"))
	_, err := s.OnlyV6()
	require.NoError(t, err)
	// Already bound: the kernel consults IPV6_V6ONLY only at bind time.
	// Linux refuses a late change; others may accept it without effect.
	if err := s.SetOnlyV6(true); err != nil {
		require.ErrorIs(t, err, syscall.EINVAL)
	}

	v4, _ := bindUDP(t, testutil.LoopbackV4)
	require.Error(t, v4.SetOnlyV6(true), "IPV6_V6ONLY on an IPv4 socket")
}

// An IPv4 peer of a dual-stack IPv6 socket is reported as the socket saw it:
// an IPv4-mapped address. Sending to a plain IPv4 address maps it.
func TestUDPDualStackReportsMappedAddresses(t *testing.T) {
	if !testutil.HasIPv6Loopback() {
		t.Skip("no IPv6 on this machine")
	}
	p, events := testutil.NewPoll(t)
	dual, dualAddr := bindUDP(t, netip.MustParseAddrPort("[::]:0"))
	v4, v4Addr := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(dual, id1, poller.Readable))
	require.NoError(t, p.Registry().Register(v4, id2, poller.Readable))

	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), dualAddr.Port())
	n, err := v4.SendTo(data1, to)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	buf := make([]byte, 32)
	n, from, err := dual.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])
	require.True(t, from.Addr().Is4In6(), "want a mapped address, got %v", from)
	require.Equal(t, v4Addr, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))

	// Reply to the plain IPv4 address: the dual-stack socket maps it.
	n, err = dual.SendTo(data2, v4Addr)
	requireSent(t, data2, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id2, testutil.Readable))
	n, from, err = v4.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, data2, buf[:n])
	require.True(t, from.Addr().Is4(), "an IPv4 socket reports plain IPv4: %v", from)

	// And an IPv4 socket refuses a true IPv6 destination.
	_, err = v4.SendTo(data1, netip.MustParseAddrPort("[::1]:9"))
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)
}

// setMulticastInterfaceV4 points a socket's IPv4 multicast output at the
// interface with address iface (IP_MULTICAST_IF); metal does not wrap it.
func setMulticastInterfaceV4(t *testing.T, s *metalnet.UDPSocket, iface netip.Addr) {
	t.Helper()
	require.NoError(t, unix.SetsockoptInet4Addr(metalnet.FdOf(s), unix.IPPROTO_IP, unix.IP_MULTICAST_IF, iface.As4()))
}

func TestUDPMulticastV4JoinReceiveLeave(t *testing.T) {
	p, events := testutil.NewPoll(t)
	group := netip.MustParseAddr("227.1.1.100")
	loopback := netip.MustParseAddr("127.0.0.1")

	rx, rxAddr := bindUDP(t, netip.MustParseAddrPort("0.0.0.0:0"))
	err := rx.JoinMulticastV4(group, loopback)
	if err != nil {
		// Some kernels (and network namespaces) have no multicast on the
		// loopback interface. That is the one acceptable failure.
		require.True(t, errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.EADDRNOTAVAIL), "join: %v", err)
		t.Skipf("the kernel refuses multicast on the loopback interface: %v", err)
	}
	// A second join of the same group on the same interface is refused.
	require.ErrorIs(t, rx.JoinMulticastV4(group, loopback), syscall.EADDRINUSE)
	require.NoError(t, p.Registry().Register(rx, id1, poller.Readable))

	tx, txAddr := bindUDP(t, testutil.LoopbackV4)
	setMulticastInterfaceV4(t, tx, loopback)
	require.NoError(t, tx.SetMulticastLoopV4(true))
	dst := netip.AddrPortFrom(group, rxAddr.Port())

	n, err := tx.SendTo(data1, dst)
	requireSent(t, data1, n, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	requireRecvFrom(t, rx.RecvFrom, data1, txAddr)

	require.NoError(t, rx.LeaveMulticastV4(group, loopback))
	require.Error(t, rx.LeaveMulticastV4(group, loopback), "leaving a group not joined")
	n, err = tx.SendTo(data2, dst)
	requireSent(t, data2, n, err)
	testutil.ExpectNoEvents(t, p, events)
	_, _, err = rx.RecvFrom(make([]byte, 20))
	requireWouldBlock(t, err)

	require.ErrorIs(t, rx.JoinMulticastV4(netip.MustParseAddr("ff02::1"), loopback), metalnet.ErrInvalidAddr)
}

func TestUDPMulticastV6JoinLeave(t *testing.T) {
	if !testutil.HasIPv6Loopback() {
		t.Skip("no IPv6 on this machine")
	}
	s, _ := bindUDP(t, netip.MustParseAddrPort("[::]:0"))
	group := netip.MustParseAddr("ff02::1:3")
	ifindex := 0
	if ifi, err := multicastInterface(); err == nil {
		ifindex = ifi.Index
	}
	err := s.JoinMulticastV6(group, ifindex)
	if err != nil {
		require.True(t, errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.EADDRNOTAVAIL), "join: %v", err)
		t.Skipf("the kernel refuses IPv6 multicast here (no multicast-capable interface): %v", err)
	}
	require.NoError(t, s.LeaveMulticastV6(group, ifindex))
	require.ErrorIs(t, s.JoinMulticastV6(netip.MustParseAddr("227.1.1.100"), ifindex), metalnet.ErrInvalidAddr)
}

// multicastInterface returns an up, multicast-capable interface.
func multicastInterface() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 {
			return &ifi, nil
		}
	}
	return nil, errors.New("no multicast interface")
}
