//go:build unix

package net_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

// stdPair returns both ends of a standard-library TCP connection on
// loopback, closed when the test ends.
func stdPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	l := testutil.StdListener(t, testutil.LoopbackV4)
	client, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	server, err = l.AcceptTCP()
	require.NoError(t, err)
	t.Cleanup(func() { server.Close() })
	return client, server
}

func TestTCPStreamFromStdDeliversEventsToMetalAndClosesStd(t *testing.T) {
	p, events := testutil.NewPoll(t)
	peer, std := stdPair(t)

	// Data queued before the adoption stays queued.
	_, err := peer.Write(data1)
	require.NoError(t, err)

	before := testutil.OpenFds(t)
	s, err := metalnet.TCPStreamFromStd(std)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, before, testutil.OpenFds(t), "one descriptor in, one out: the std one is closed")
	require.GreaterOrEqual(t, metalnet.FdOf(s), 3)
	testutil.RequireNonblockCloexec(t, metalnet.FdOf(s))

	// The standard library's value is closed.
	_, err = std.Read(make([]byte, 1))
	require.ErrorIs(t, err, net.ErrClosed)

	require.NoError(t, p.Registry().Register(s, id1, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	buf := make([]byte, 32)
	n, err := s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])
	_, err = s.Read(buf)
	requireWouldBlock(t, err)

	// New data makes a new event on metal's poller.
	_, err = peer.Write(data2)
	require.NoError(t, err)
	testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data2, buf[:n])

	// And it writes back through the same connection.
	_, err = s.Write(data1)
	require.NoError(t, err)
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(testutil.EventTimeout)))
	n, err = peer.Read(buf)
	require.NoError(t, err)
	require.Equal(t, data1, buf[:n])

	// Closing metal's stream ends the connection: one descriptor, no
	// leftover registration.
	require.NoError(t, s.Close())
	n, err = peer.Read(buf)
	require.Zero(t, n)
	require.Error(t, err)
	testutil.ExpectNoEvents(t, p, events)
}

func TestAdoptingNilStdValueFails(t *testing.T) {
	_, err := metalnet.TCPStreamFromStd(nil)
	require.Error(t, err)
	_, err = metalnet.TCPListenerFromStd(nil)
	require.Error(t, err)
	_, err = metalnet.UDPSocketFromStd(nil)
	require.Error(t, err)
}

func TestAdoptingClosedStdValueFailsAndLeaksNothing(t *testing.T) {
	_, std := stdPair(t)
	require.NoError(t, std.Close())
	before := testutil.OpenFds(t)
	_, err := metalnet.TCPStreamFromStd(std)
	require.ErrorIs(t, err, net.ErrClosed)
	require.Equal(t, before, testutil.OpenFds(t))
}
