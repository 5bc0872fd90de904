//go:build unix

package net_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

func TestTCPStreamMethodsAfterCloseReturnErrClosed(t *testing.T) {
	p, _ := testutil.NewPoll(t)
	client, _ := connectedPair(t, testutil.LoopbackV4)
	require.NoError(t, client.Close())

	buf := make([]byte, 8)
	calls := map[string]func() error{
		"Read":               func() error { _, err := client.Read(buf); return err },
		"Write":              func() error { _, err := client.Write(buf); return err },
		"ReadV":              func() error { _, err := client.ReadV([][]byte{buf}); return err },
		"WriteV":             func() error { _, err := client.WriteV([][]byte{buf}); return err },
		"Peek":               func() error { _, err := client.Peek(buf); return err },
		"Shutdown":           func() error { return client.Shutdown(metalnet.ShutdownBoth) },
		"SetNoDelay":         func() error { return client.SetNoDelay(true) },
		"NoDelay":            func() error { _, err := client.NoDelay(); return err },
		"SetKeepAlive":       func() error { return client.SetKeepAlive(true) },
		"SetKeepAlivePeriod": func() error { return client.SetKeepAlivePeriod(1) },
		"SetLinger":          func() error { return client.SetLinger(0) },
		"Linger":             func() error { _, err := client.Linger(); return err },
		"SetTTL":             func() error { return client.SetTTL(1) },
		"TTL":                func() error { _, err := client.TTL(); return err },
		"LocalAddr":          func() error { _, err := client.LocalAddr(); return err },
		"PeerAddr":           func() error { _, err := client.PeerAddr(); return err },
		"TakeError":          func() error { return client.TakeError() },
		"Register":           func() error { return p.Registry().Register(client, id1, poller.Readable) },
		"Reregister":         func() error { return p.Registry().Reregister(client, id1, poller.Readable) },
		"Deregister":         func() error { return p.Registry().Deregister(client) },
		"Close":              client.Close,
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), net.ErrClosed, name)
	}
}

func TestListenerAndUDPMethodsAfterCloseReturnErrClosed(t *testing.T) {
	l, _ := listen(t, testutil.LoopbackV4)
	require.NoError(t, l.Close())
	_, _, err := l.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = l.LocalAddr()
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, l.Close(), net.ErrClosed)

	u, addr := bindUDP(t, testutil.LoopbackV4)
	require.NoError(t, u.Close())
	buf := make([]byte, 8)
	_, err = u.SendTo(buf, addr)
	require.ErrorIs(t, err, net.ErrClosed)
	_, _, err = u.RecvFrom(buf)
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = u.Send(buf)
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = u.Recv(buf)
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, u.Connect(addr), net.ErrClosed)
	require.ErrorIs(t, u.SetBroadcast(true), net.ErrClosed)
	require.ErrorIs(t, u.JoinMulticastV4(netip.MustParseAddr("227.1.1.1"), netip.Addr{}), net.ErrClosed)
	require.ErrorIs(t, u.Close(), net.ErrClosed)
}

func TestZeroAndNilSocketsReturnErrClosedWithoutPanicking(t *testing.T) {
	buf := make([]byte, 8)
	var nilStream *metalnet.TCPStream
	for _, s := range []*metalnet.TCPStream{{}, nilStream} {
		_, err := s.Read(buf)
		require.ErrorIs(t, err, net.ErrClosed)
		_, err = s.Write(buf)
		require.ErrorIs(t, err, net.ErrClosed)
		require.ErrorIs(t, s.Close(), net.ErrClosed)
	}
	var nilListener *metalnet.TCPListener
	for _, l := range []*metalnet.TCPListener{{}, nilListener} {
		_, _, err := l.Accept()
		require.ErrorIs(t, err, net.ErrClosed)
		require.ErrorIs(t, l.Close(), net.ErrClosed)
	}
	var nilUDP *metalnet.UDPSocket
	for _, u := range []*metalnet.UDPSocket{{}, nilUDP} {
		_, _, err := u.RecvFrom(buf)
		require.ErrorIs(t, err, net.ErrClosed)
		require.ErrorIs(t, u.Close(), net.ErrClosed)
	}
	p, _ := testutil.NewPoll(t)
	require.ErrorIs(t, p.Registry().Register(&metalnet.TCPStream{}, id1, poller.Readable), net.ErrClosed)
}

func TestInvalidAddressesAreRejected(t *testing.T) {
	var zero netip.AddrPort
	_, err := metalnet.ListenTCP(zero)
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)
	_, err = metalnet.ConnectTCP(zero)
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)
	_, err = metalnet.BindUDP(zero)
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)

	u, _ := bindUDP(t, testutil.LoopbackV4)
	_, err = u.SendTo(data1, zero)
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)
	require.ErrorIs(t, u.Connect(zero), metalnet.ErrInvalidAddr)
	require.ErrorIs(t, u.JoinMulticastV4(netip.Addr{}, netip.Addr{}), metalnet.ErrInvalidAddr)
}

func TestRegisteringTwiceIsRefused(t *testing.T) {
	p, _ := testutil.NewPoll(t)
	l, _ := listen(t, testutil.LoopbackV4)
	require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
	require.ErrorIs(t, p.Registry().Register(l, id1, poller.Readable), poller.ErrAlreadyRegistered)
	require.NoError(t, p.Registry().Deregister(l))
	require.ErrorIs(t, p.Registry().Deregister(l), poller.ErrNotRegistered)
}

// Close racing reads, writes and option calls from other goroutines: every
// call either works or reports net.ErrClosed, and nothing touches a
// descriptor number after it has been handed back to the kernel (the race
// detector and the descriptor count would notice).
func TestCloseRacingIOIsSafe(t *testing.T) {
	before := testutil.OpenFds(t)
	for i := range 50 {
		t.Run(fmt.Sprint(i), func(t *testing.T) { closeRacingIO(t) })
	}
	require.Equal(t, before, testutil.OpenFds(t))
}

func closeRacingIO(t *testing.T) {
	client, server := connectedPair(t, testutil.LoopbackV4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				_, rerr := client.Read(buf)
				_, werr := client.Write(buf)
				_, aerr := client.LocalAddr()
				for _, err := range []error{rerr, werr, aerr} {
					if errors.Is(err, net.ErrClosed) {
						return
					}
				}
			}
		}()
	}
	require.NoError(t, client.Close())
	wg.Wait()
	require.NoError(t, server.Close())
}
