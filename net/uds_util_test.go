//go:build unix

package net

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

// Helpers for the Unix-domain socket and pipe tests, on top of
// internal/testutil. They are prefixed so that they cannot collide with the
// TCP/UDP tests' own.

// udsExpectEvent waits (up to testutil.EventTimeout) for an event with
// token tok showing every kind in r, and returns it so that the test can
// check what else it says. Other events are tolerated as spurious.
func udsExpectEvent(t testing.TB, p *poller.Poll, events *poller.Events, tok poller.Token, r testutil.Readiness) poller.Event {
	t.Helper()
	return testutil.PollUntil(t, p, events, testutil.Expect(tok, r).Matches)
}

// udsSocketDir returns a fresh directory with a short path, removed when
// the test ends. t.TempDir() embeds the test's name, which can push a
// socket path past sockaddr_un's ~104 bytes.
func udsSocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "m")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// udsSocketPath returns a short socket path in a fresh directory.
func udsSocketPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(udsSocketDir(t), name)
}

// udsRequireNonblockCloexec checks the two flags every descriptor metal
// opens must carry from birth, and that it does not shadow a standard
// stream.
func udsRequireNonblockCloexec(t testing.TB, fd int) {
	t.Helper()
	require.GreaterOrEqual(t, fd, 3, "descriptor shadows a standard stream")
	testutil.RequireNonblockCloexec(t, fd)
}

// udsReadFull reads exactly len(buf) bytes with read, waiting for a
// readable event with token tok whenever it would block.
func udsReadFull(t testing.TB, p *poller.Poll, events *poller.Events, tok poller.Token,
	read func([]byte) (int, error), buf []byte) {
	t.Helper()
	got := 0
	for got < len(buf) {
		n, err := read(buf[got:])
		if err == poller.ErrWouldBlock {
			udsExpectEvent(t, p, events, tok, testutil.Readable)
			continue
		}
		require.NoError(t, err)
		got += n
	}
}
