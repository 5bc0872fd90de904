//go:build unix

package net

import (
	stdnet "net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

func udsListen(t *testing.T, path string) *UnixListener {
	t.Helper()
	ln, err := ListenUnix(path)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestUnixListenerAcceptsAConnection(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "l")
	ln := udsListen(t, path)
	udsRequireNonblockCloexec(t, ln.s.fd)
	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Readable|poller.Writable))
	testutil.ExpectNoEvents(t, p, events)

	c := udsConnect(t, path)
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)

	s, _, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()
	udsRequireNonblockCloexec(t, s.s.fd)
	_, err = s.Read(make([]byte, 64))
	require.ErrorIs(t, err, poller.ErrWouldBlock)

	_, _, err = ln.Accept()
	require.ErrorIs(t, err, poller.ErrWouldBlock)
	require.NoError(t, ln.TakeError())

	// The accepted stream and the connecting one talk to each other.
	udsWriteAll(t, c.Write, udsData1)
	got := make([]byte, len(udsData1))
	require.NoError(t, p.Registry().Register(s, udsToken2, poller.Readable))
	udsReadFull(t, p, events, udsToken2, s.Read, got)
	require.Equal(t, udsData1, got)
}

func TestUnixListenerAcceptWouldBlockWithNothingPending(t *testing.T) {
	ln := udsListen(t, udsSocketPath(t, "l"))
	for range 3 {
		s, from, err := ln.Accept()
		require.ErrorIs(t, err, poller.ErrWouldBlock)
		require.Nil(t, s)
		require.Empty(t, from)
	}
}

func TestUnixListenerLocalAddrIsTheBoundPath(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "any")
	ln := udsListen(t, path)
	got, err := ln.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, path, got)

	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Readable|poller.Writable))
	udsConnect(t, path)
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
	s, from, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()
	require.Empty(t, from, "the connecting socket is unnamed")
	local, err := s.LocalAddr()
	require.NoError(t, err)
	require.Equal(t, path, local)
}

func TestUnixListenerAcceptReportsABoundPeersPath(t *testing.T) {
	dir := udsSocketDir(t)
	path := filepath.Join(dir, "srv")
	ln := udsListen(t, path)

	// Go's net package binds the dialling socket when given a local address.
	clientPath := filepath.Join(dir, "cli")
	c, err := stdnet.DialUnix("unix",
		&stdnet.UnixAddr{Name: clientPath, Net: "unix"},
		&stdnet.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	defer c.Close()

	s, from := udsAcceptOne(t, ln)
	require.Equal(t, clientPath, from)
	peer, err := s.PeerAddr()
	require.NoError(t, err)
	require.Equal(t, clientPath, peer)
}

func TestUnixListenerRegisteredIdleGivesNoEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	ln := udsListen(t, udsSocketPath(t, "l"))
	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Readable))
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixListenerReregisterFromWritableToReadable(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "l")
	ln := udsListen(t, path)
	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Writable))
	udsConnect(t, path)
	testutil.ExpectNoEvents(t, p, events)

	require.NoError(t, p.Registry().Reregister(ln, udsToken1, poller.Readable))
	udsExpectEvent(t, p, events, udsToken1, testutil.Readable)
}

func TestUnixListenerDeregisterStopsEvents(t *testing.T) {
	p, events := testutil.NewPoll(t)
	path := udsSocketPath(t, "l")
	ln := udsListen(t, path)
	require.NoError(t, p.Registry().Register(ln, udsToken1, poller.Readable))
	require.NoError(t, p.Registry().Deregister(ln))
	udsConnect(t, path)
	testutil.ExpectNoEvents(t, p, events)
}

func TestUnixListenerCloseLeavesTheSocketFile(t *testing.T) {
	path := udsSocketPath(t, "l")
	ln, err := ListenUnix(path)
	require.NoError(t, err)
	require.NoError(t, ln.Close())

	fi, err := os.Stat(path)
	require.NoError(t, err, "the socket file stays after Close")
	require.Equal(t, os.ModeSocket, fi.Mode().Type())

	_, err = ListenUnix(path)
	require.ErrorIs(t, err, unix.EADDRINUSE, "binding over a stale socket file fails")
	require.Contains(t, err.Error(), path)

	require.NoError(t, os.Remove(path))
	ln, err = ListenUnix(path)
	require.NoError(t, err, "after removing the file the path is free")
	require.NoError(t, ln.Close())
}

func TestUnixListenerMisuseReturnsErrors(t *testing.T) {
	_, err := ListenUnix(udsSocketDir(t) + "/" + string(make([]byte, 200)))
	require.ErrorIs(t, err, ErrPathTooLong)
	_, err = ListenUnix(udsSocketDir(t) + "/a\x00b")
	require.ErrorIs(t, err, unix.EINVAL, "a NUL inside a file path is refused")
	_, err = ListenUnix(filepath.Join(udsSocketDir(t), "no", "such", "dir"))
	require.ErrorIs(t, err, unix.ENOENT)

	ln, err := ListenUnix(udsSocketPath(t, "l"))
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	require.ErrorIs(t, ln.Close(), stdnet.ErrClosed)
	_, _, err = ln.Accept()
	require.ErrorIs(t, err, stdnet.ErrClosed)
	_, err = ln.LocalAddr()
	require.ErrorIs(t, err, stdnet.ErrClosed)
	require.ErrorIs(t, ln.TakeError(), stdnet.ErrClosed)
}
