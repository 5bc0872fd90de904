//go:build unix

package net_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

var (
	data1 = []byte("Hello world!")
	data2 = []byte("Hello mars!")
)

const (
	id1 poller.Token = iota + 1
	id2
	id3
	id4
)

// listen opens a metal listener on addr (a loopback address with port 0)
// and closes it when the test ends.
func listen(t *testing.T, addr netip.AddrPort) (*metalnet.TCPListener, netip.AddrPort) {
	t.Helper()
	l, err := metalnet.ListenTCP(addr)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	local, err := l.LocalAddr()
	require.NoError(t, err)
	return l, local
}

// connect starts a metal connect to addr and closes the stream when the test
// ends.
func connect(t *testing.T, addr netip.AddrPort) *metalnet.TCPStream {
	t.Helper()
	s, err := metalnet.ConnectTCP(addr)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// bindUDP opens a metal UDP socket on addr and closes it when the test ends.
func bindUDP(t *testing.T, addr netip.AddrPort) (*metalnet.UDPSocket, netip.AddrPort) {
	t.Helper()
	u, err := metalnet.BindUDP(addr)
	require.NoError(t, err)
	t.Cleanup(func() { u.Close() })
	local, err := u.LocalAddr()
	require.NoError(t, err)
	return u, local
}

// acceptOne waits for the listener (registered Readable with token tok) to
// report a connection and accepts it; the stream closes when the test ends.
func acceptOne(t *testing.T, p *poller.Poll, events *poller.Events, l *metalnet.TCPListener, tok poller.Token) (*metalnet.TCPStream, netip.AddrPort) {
	t.Helper()
	for {
		s, addr, err := l.Accept()
		if err == nil {
			t.Cleanup(func() { s.Close() })
			return s, addr
		}
		require.ErrorIs(t, err, poller.ErrWouldBlock)
		testutil.ExpectEvents(t, p, events, testutil.Expect(tok, testutil.Readable))
	}
}

// connectedPair returns a connected client and server stream over a metal
// listener on addr, neither registered with anything.
func connectedPair(t *testing.T, addr netip.AddrPort) (client, server *metalnet.TCPStream) {
	t.Helper()
	p, events := testutil.NewPoll(t)
	l, laddr := listen(t, addr)
	require.NoError(t, p.Registry().Register(l, id4, poller.Readable))
	client = connect(t, laddr)
	server, _ = acceptOne(t, p, events, l, id4)
	require.NoError(t, p.Registry().Deregister(l))
	return client, server
}

// requireWouldBlock asserts that err is poller.ErrWouldBlock.
func requireWouldBlock(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, poller.ErrWouldBlock), "want ErrWouldBlock, got %v", err)
}

// readFull reads exactly len(p) bytes from s, polling (s registered Readable
// with tok) whenever it would block.
func readFull(t *testing.T, p *poller.Poll, events *poller.Events, s *metalnet.TCPStream, tok poller.Token, buf []byte) {
	t.Helper()
	got := 0
	for got < len(buf) {
		n, err := s.Read(buf[got:])
		got += n
		if errors.Is(err, poller.ErrWouldBlock) {
			testutil.ExpectEvents(t, p, events, testutil.Expect(tok, testutil.Readable))
			continue
		}
		require.NoError(t, err)
	}
}

// eachFamily runs fn for IPv4 and, where the machine has it, IPv6 loopback.
func eachFamily(t *testing.T, fn func(t *testing.T, addr netip.AddrPort)) {
	t.Run("IPv4", func(t *testing.T) { fn(t, testutil.LoopbackV4) })
	t.Run("IPv6", func(t *testing.T) {
		if !testutil.HasIPv6Loopback() {
			t.Skip("no IPv6 loopback ([::1]) on this machine")
		}
		fn(t, testutil.LoopbackV6)
	})
}
