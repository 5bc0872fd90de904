//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// The RDHUP regression: a peer that shuts down only its writing half makes
// this end read-closed and never write-closed, so writers keep writing.
func TestPeerHalfCloseIsReadClosedNeverWriteClosed(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable|poller.Writable))
	expectEvents(t, p, writable(1))

	require.NoError(t, unix.Shutdown(b, unix.SHUT_WR))
	seen := expectEvents(t, p, readClosed(1))
	for _, ev := range seen {
		require.False(t, ev.IsWriteClosed(), "half-close reported as write-closed: %v", ev)
		require.False(t, ev.IsError(), "half-close reported as error: %v", ev)
	}
	// The writing half still works.
	write(t, a, "still open")
	require.Equal(t, "still open", drain(t, b))
}

func TestPeerCloseIsReadClosed(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable))
	unix.Close(b)
	seen := expectEvents(t, p, readClosed(1), readable(1))
	require.NotEmpty(t, seen)
}

func TestLocalShutdownBothIsReadAndWriteClosed(t *testing.T) {
	p := newPoll(t)
	a, _ := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable|poller.Writable))
	expectEvents(t, p, writable(1))
	require.NoError(t, unix.Shutdown(a, unix.SHUT_RDWR))
	expectEvents(t, p, readClosed(1), writeClosed(1))
}

func TestPipeWriterGoneIsReadClosed(t *testing.T) {
	p := newPoll(t)
	r, w := pipe(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(r), 1, poller.Readable))
	write(t, w, "last words")
	unix.Close(w)
	// epoll says HUP, which the mapping also calls write-closed: true of a
	// read end, which has no writing half to keep open.
	expectEvents(t, p, readable(1), readClosed(1))
	require.Equal(t, "last words", drain(t, r))
}

func TestPipeReaderGoneIsWriteClosed(t *testing.T) {
	p := newPoll(t)
	r, w := pipe(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(w), 1, poller.Writable))
	expectEvents(t, p, writable(1))
	unix.Close(r)
	seen := expectEvents(t, p, writeClosed(1))
	for _, ev := range seen {
		require.False(t, ev.IsReadClosed())
	}
}

func TestEventStringNamesItsKinds(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 42, poller.Readable))
	write(t, b, "x")
	seen := expectEvents(t, p, readable(42))
	require.Contains(t, seen[0].String(), "token: 42")
	require.Contains(t, seen[0].String(), "READABLE")
}
