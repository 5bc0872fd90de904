//go:build unix

package net

import (
	stdnet "net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

func udsBindDatagram(t *testing.T, path string) *UnixDatagram {
	t.Helper()
	d, err := BindUnixDatagram(path)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func udsDatagramPair(t *testing.T) (*UnixDatagram, *UnixDatagram) {
	t.Helper()
	a, b, err := UnixDatagramPair()
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// udsRegisterBoth registers d1 and d2 Readable|Writable as udsToken1 and
// udsToken2 and waits for both to be writable.
func udsRegisterBoth(t *testing.T, p *poller.Poll, events *poller.Events, d1, d2 *UnixDatagram) {
	t.Helper()
	require.NoError(t, p.Registry().Register(d1, udsToken1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(d2, udsToken2, poller.Readable|poller.Writable))
	testutil.ExpectEvents(t, p, events, testutil.Expect(udsToken1, testutil.Writable), testutil.Expect(udsToken2, testutil.Writable))
}

func TestUnixDatagramSendToAndRecvFromBetweenBoundSockets(t *testing.T) {
	p, events := testutil.NewPoll(t)
	dir := udsSocketDir(t)
	path1, path2 := dir+"/d1", dir+"/d2"
	d1, d2 := udsBindDatagram(t, path1), udsBindDatagram(t, path2)
	udsRequireNonblockCloexec(t, d1.s.fd)
	udsRequireNonblockCloexec(t, d2.s.fd)
	local, err := d1.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, path1, local)
	udsRegisterBoth(t, p, events, d1, d2)

	buf := make([]byte, 64)
	_, _, err = d1.RecvFrom(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)
	_, _, err = d2.RecvFrom(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, func(b []byte) (int, error) { return d1.SendTo(b, path2) }, udsData1)
	udsWriteAll(t, func(b []byte) (int, error) { return d2.SendTo(b, path1) }, udsData2)
	testutil.ExpectEvents(t, p, events, testutil.Expect(udsToken1, testutil.Readable), testutil.Expect(udsToken2, testutil.Readable))

	n, from, err := d1.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n])
	require.Equal(t, path2, from)
	n, from, err = d2.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	require.Equal(t, path1, from)

	require.NoError(t, d1.TakeError())
	require.NoError(t, d2.TakeError())
}

func TestUnixDatagramConnectedSendAndRecv(t *testing.T) {
	p, events := testutil.NewPoll(t)
	dir := udsSocketDir(t)
	path1, path2 := dir+"/d1", dir+"/d2"
	d1, d2 := udsBindDatagram(t, path1), udsBindDatagram(t, path2)
	require.NoError(t, d1.Connect(path2))
	require.NoError(t, d2.Connect(path1))

	for _, c := range []struct {
		d           *UnixDatagram
		local, peer string
	}{{d1, path1, path2}, {d2, path2, path1}} {
		local, err := c.d.LocalAddr()
		require.NoError(t, err)
		require.Equal(t, c.local, local)
		peer, err := c.d.PeerAddr()
		require.NoError(t, err)
		require.Equal(t, c.peer, peer)
	}
	udsRegisterBoth(t, p, events, d1, d2)

	buf := make([]byte, 64)
	_, err := d1.Recv(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)
	_, err = d2.Recv(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, d1.Send, udsData1)
	udsWriteAll(t, d2.Send, udsData2)
	testutil.ExpectEvents(t, p, events, testutil.Expect(udsToken1, testutil.Readable), testutil.Expect(udsToken2, testutil.Readable))
	n, err := d1.Recv(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n])
	n, err = d2.Recv(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])

	require.NoError(t, d1.TakeError())
	require.NoError(t, d2.TakeError())
}

func TestUnixDatagramConnectsToABoundPath(t *testing.T) {
	dir := udsSocketDir(t)
	d1 := udsBindDatagram(t, dir+"/d1")
	d2 := udsBindDatagram(t, dir+"/d2")
	// Each to its own path, as mio's scenario does.
	require.NoError(t, d1.Connect(dir+"/d1"))
	require.NoError(t, d2.Connect(dir+"/d2"))
	peer, err := d1.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, dir+"/d1", peer)

	// A datagram sent to oneself comes back.
	udsWriteAll(t, d1.Send, udsData1)
	buf := make([]byte, 64)
	n, from, err := d1.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	require.Equal(t, dir+"/d1", from)

	err = d1.Connect(dir + "/missing")
	require.ErrorIs(t, err, unix.ENOENT)
	require.Contains(t, err.Error(), dir+"/missing")
}

func TestUnixDatagramPairExchangesDatagrams(t *testing.T) {
	p, events := testutil.NewPoll(t)
	d1, d2 := udsDatagramPair(t)
	udsRequireNonblockCloexec(t, d1.s.fd)
	udsRequireNonblockCloexec(t, d2.s.fd)
	udsRegisterBoth(t, p, events, d1, d2)

	buf := make([]byte, 64)
	_, err := d1.Recv(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)
	_, err = d2.Recv(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	udsWriteAll(t, d1.Send, udsData1)
	udsWriteAll(t, d2.Send, udsData2)
	testutil.ExpectEvents(t, p, events, testutil.Expect(udsToken1, testutil.Readable), testutil.Expect(udsToken2, testutil.Readable))
	n, err := d1.Recv(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n])
	n, from, err := d2.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	require.Empty(t, from, "a socketpair end is unnamed")

	for _, d := range []*UnixDatagram{d1, d2} {
		require.NoError(t, d.TakeError())
		local, err := d.LocalAddr()
		require.NoError(t, err)
		require.Empty(t, local)
		peer, err := d.PeerAddr()
		require.NoError(t, err)
		require.Empty(t, peer)
	}
}

func TestUnixDatagramUnboundSendsToABoundSocket(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "r")
	r := udsBindDatagram(t, path)
	s, err := UnboundUnixDatagram()
	require.NoError(t, err)
	defer s.Close()
	udsRequireNonblockCloexec(t, s.s.fd)
	local, err := s.LocalAddr()
	require.NoError(t, err)
	require.Empty(t, local)

	require.NoError(t, p.Registry().Register(r, udsToken1, poller.Readable))
	udsWriteAll(t, func(b []byte) (int, error) { return s.SendTo(b, path) }, udsData1)
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
	buf := make([]byte, 64)
	n, from, err := r.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	require.Empty(t, from, "the sender is unbound")
}

func TestUnixDatagramEmptyDatagramIsReadable(t *testing.T) {
	p, events := testutil.NewPoll(t)
	d1, d2 := udsDatagramPair(t)
	require.NoError(t, p.Registry().Register(d2, udsToken2, poller.Readable))

	n, err := d1.Send(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	udsExpectEvent(t, p, events, udsToken2, testutil.Readable)
	buf := make([]byte, 64)
	n, err = d2.Recv(buf)
	require.NoError(t, err, "an empty datagram is not end of stream")
	require.Zero(t, n)
	_, err = d2.Recv(buf)
	require.ErrorIs(t, err, poller.ErrWouldBlock, "the empty datagram was consumed")

	// The same through SendTo and RecvFrom between bound sockets.
	dir := udsSocketDir(t)
	a, b := udsBindDatagram(t, dir+"/a"), udsBindDatagram(t, dir+"/b")
	require.NoError(t, p.Registry().Register(b, udsToken1, poller.Readable))
	n, err = a.SendTo([]byte{}, dir+"/b")
	require.NoError(t, err)
	require.Zero(t, n)
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
	n, from, err := b.RecvFrom(buf)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, dir+"/a", from)
}

func TestUnixDatagramTooLongIsTruncatedNotSplit(t *testing.T) {
	d1, d2 := udsDatagramPair(t)
	udsWriteAll(t, d1.Send, udsData1)
	udsWriteAll(t, d1.Send, udsData2)
	small := make([]byte, 5)
	n, err := d2.Recv(small)
	require.NoError(t, err)
	require.Equal(t, udsData1[:5], small[:n])
	buf := make([]byte, 64)
	n, err = d2.Recv(buf)
	require.NoError(t, err)
	require.Equal(t, udsData2, buf[:n], "the rest of the first datagram is gone")
}

func TestUnixDatagramShutdownReportsClosedHalves(t *testing.T) {
	p, events := testutil.NewPoll(t)
	dir := udsSocketDir(t)
	d1, d2 := udsBindDatagram(t, dir+"/d1"), udsBindDatagram(t, dir+"/d2")
	require.NoError(t, p.Registry().Register(d1, udsToken1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Register(d2, udsToken2, poller.Readable|poller.Writable))

	require.NoError(t, d1.Connect(dir+"/d2"))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)
	udsWriteAll(t, d1.Send, udsData1)
	udsExpectEvent(t, p, events, udsToken2, testutil.Readable)

	require.NoError(t, d1.Shutdown(ShutdownRead))
	ev := udsExpectEvent(t, p, events, udsToken1, testutil.ReadClosed)
	require.False(t, ev.IsWriteClosed(), "only the receiving half is shut: %v", ev)

	require.NoError(t, d1.Shutdown(ShutdownWrite))
	udsExpectEvent(t, p, events, udsToken1, testutil.WriteClosed)

	_, err := d1.Send(udsData2)
	require.ErrorIs(t, err, unix.EPIPE)
	require.NoError(t, d1.TakeError())
}

func TestUnixDatagramRegisteredIdleGivesNoEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	d := udsBindDatagram(t, udsSocketPath(t, "d"))
	require.NoError(t, p.Registry().Register(d, udsToken1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixDatagramReregisterSwitchesToWritable(t *testing.T) {
	p, events := testutil.NewPoll(t)
	dir := udsSocketDir(t)
	d1 := udsBindDatagram(t, dir+"/d1")
	require.NoError(t, p.Registry().Register(d1, udsToken1, poller.Readable))
	d2 := udsBindDatagram(t, dir+"/d2")
	require.NoError(t, d2.Connect(dir+"/d1"))
	require.NoError(t, p.Registry().Reregister(d1, udsToken1, poller.Writable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Writable)
}

func TestUnixDatagramDeregisterStopsEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	dir := udsSocketDir(t)
	d1 := udsBindDatagram(t, dir+"/d1")
	require.NoError(t, p.Registry().Register(d1, udsToken1, poller.Readable|poller.Writable))
	require.NoError(t, p.Registry().Deregister(d1))
	d2 := udsBindDatagram(t, dir+"/d2")
	_, err := d2.SendTo(udsData1, dir+"/d1")
	require.NoError(t, err)
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixDatagramSendAndRecvDoNotAllocate(t *testing.T) {
	d1, d2 := udsDatagramPair(t)
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := d1.Send(udsData1); err != nil {
			panic(err)
		}
		if _, err := d2.Recv(buf); err != nil {
			panic(err)
		}
		if _, err := d2.Recv(buf); err != poller.ErrWouldBlock {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestUnixDatagramMisuseReturnsErrors(t *testing.T) {
	p, _ := testutil.NewPoll(t)
	d, err := UnboundUnixDatagram()
	require.NoError(t, err)
	_, err = d.SendTo(udsData1, "/"+string(make([]byte, 300)))
	require.ErrorIs(t, err, ErrPathTooLong)
	_, err = BindUnixDatagram("/" + string(make([]byte, 300)))
	require.ErrorIs(t, err, ErrPathTooLong)
	require.ErrorIs(t, d.Connect("/"+string(make([]byte, 300))), ErrPathTooLong)
	_, err = d.Send(udsData1)
	require.Error(t, err, "Send needs a connected peer")
	_, err = d.PeerAddr()
	require.ErrorIs(t, err, unix.ENOTCONN)

	require.NoError(t, d.Close())
	require.ErrorIs(t, d.Close(), stdnet.ErrClosed)
	buf := make([]byte, 8)
	for name, op := range map[string]func() error{
		"SendTo":     func() error { _, err := d.SendTo(buf, "/x"); return err },
		"Send":       func() error { _, err := d.Send(buf); return err },
		"RecvFrom":   func() error { _, _, err := d.RecvFrom(buf); return err },
		"Recv":       func() error { _, err := d.Recv(buf); return err },
		"Connect":    func() error { return d.Connect("/x") },
		"Shutdown":   func() error { return d.Shutdown(ShutdownBoth) },
		"LocalAddr":  func() error { _, err := d.LocalAddr(); return err },
		"PeerAddr":   func() error { _, err := d.PeerAddr(); return err },
		"TakeError":  func() error { return d.TakeError() },
		"Register":   func() error { return p.Registry().Register(d, udsToken1, poller.Readable) },
		"Reregister": func() error { return p.Registry().Reregister(d, udsToken1, poller.Readable) },
		"Deregister": func() error { return p.Registry().Deregister(d) },
	} {
		require.ErrorIs(t, op(), stdnet.ErrClosed, name)
	}
}
