package net

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

// udsAbstractName returns a name in the abstract namespace that no other
// test run uses.
func udsAbstractName(t *testing.T) string {
	return fmt.Sprintf("@metal-test-%d-%s", os.Getpid(), t.Name())
}

func TestUnixListenerAbstractNameRoundTrips(t *testing.T) {
	p, events := testutil.NewPoll(t)
	name := udsAbstractName(t)
	ln := udsListen(t, name)
	got, err := ln.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, name, got)

	c := udsConnect(t, name)
	peer, err := c.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, name, peer)

	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Readable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
	s, from, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()
	require.Empty(t, from)

	_, err = os.Stat(name)
	require.ErrorIs(t, err, os.ErrNotExist, "an abstract name is not a file")
	_, err = os.Stat(name[1:])
	require.ErrorIs(t, err, os.ErrNotExist)

	// Closing frees the name at once: no file to remove.
	require.NoError(t, ln.Close())
	ln2, err := ListenUnix(name)
	require.NoError(t, err)
	require.NoError(t, ln2.Close())
}

func TestUnixListenerEmptyPathAutobindsAnAbstractName(t *testing.T) {
	ln := udsListen(t, "")
	name, err := ln.LocalAddr()
	require.NoError(t, err)
	require.Regexp(t, "^@[0-9a-f]{5}$", name, "Linux picks five hex digits")
	c := udsConnect(t, name)
	_, _ = udsAcceptOne(t, ln)
	peer, err := c.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, name, peer)
}

func TestConnectUnixWouldBlockWhenTheBacklogIsFull(t *testing.T) {
	// A backlog of 0 admits one pending connection on Linux; after that a
	// non-blocking connect gets EAGAIN, which ConnectUnix reports as
	// would-block rather than waiting.
	path := udsSocketPath(t, "b")
	s, err := newSocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer s.close()
	require.NoError(t, s.bind(&unix.SockaddrUnix{Name: path}))
	require.NoError(t, s.listen(0))

	var conns []*UnixStream
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 16 {
		c, err := ConnectUnix(path)
		if err != nil {
			require.ErrorIs(t, err, poller.ErrWouldBlock)
			require.True(t, errors.Is(err, unix.EAGAIN))
			return
		}
		conns = append(conns, c)
	}
	t.Fatalf("%d connections to a listener with backlog 0 all succeeded", len(conns))
}

func TestUnixDatagramRecvFromAllocatesOnlyTheSendersPath(t *testing.T) {
	dir := udsSocketDir(t)
	recvPath := dir + "/r"
	r, err := BindUnixDatagram(recvPath)
	require.NoError(t, err)
	defer r.Close()
	unbound, err := UnboundUnixDatagram()
	require.NoError(t, err)
	defer unbound.Close()
	bound, err := BindUnixDatagram(dir + "/s")
	require.NoError(t, err)
	defer bound.Close()

	// Connected senders use Send, which allocates nothing, so one send and
	// one receive per run measure RecvFrom alone (the receive queue holds
	// only a few datagrams: net.unix.max_dgram_qlen).
	require.NoError(t, unbound.Connect(recvPath))
	require.NoError(t, bound.Connect(recvPath))
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := unbound.Send(udsData1); err != nil {
			panic(err)
		}
		if _, from, err := r.RecvFrom(buf); err != nil || from != "" {
			panic(fmt.Sprint(from, err))
		}
	})
	require.Zero(t, allocs, "an unnamed sender costs no allocation")

	allocs = testing.AllocsPerRun(200, func() {
		if _, err := bound.Send(udsData1); err != nil {
			panic(err)
		}
		if _, from, err := r.RecvFrom(buf); err != nil || from != dir+"/s" {
			panic(fmt.Sprint(from, err))
		}
	})
	require.Equal(t, 1.0, allocs, "a named sender costs its path string")
}

func TestUnixDatagramAbstractNames(t *testing.T) {
	name := udsAbstractName(t)
	r, err := BindUnixDatagram(name)
	require.NoError(t, err)
	defer r.Close()
	local, err := r.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, name, local)

	s, err := BindUnixDatagram(name + "-sender")
	require.NoError(t, err)
	defer s.Close()
	_, err = s.SendTo(udsData1, name)
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, from, err := r.RecvFrom(buf)
	require.NoError(t, err)
	require.Equal(t, udsData1, buf[:n])
	require.Equal(t, name+"-sender", from)
}

func TestUnixDatagramPeerCloseRaisesNoEventButSendIsRefused(t *testing.T) {
	p, events := testutil.NewPoll(t)
	a, b, err := UnixDatagramPair()
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, p.Registry().Register(b, udsToken2, poller.Readable|poller.Writable))
	udsExpectEvent(t, p, events, udsToken2, testutil.Writable)

	require.NoError(t, a.Close())
	testutil.ExpectNoEvents(t, p, events)
	_, err = b.Send(udsData1)
	require.ErrorIs(t, err, unix.ECONNREFUSED)
	_, err = b.Recv(make([]byte, 8))
	require.ErrorIs(t, err, poller.ErrWouldBlock)
}
