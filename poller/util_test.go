//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// readiness is what a test expects of one event.
type readiness struct {
	token poller.Token
	check func(poller.Event) bool
	what  string
}

func readable(t poller.Token) readiness {
	return readiness{t, poller.Event.IsReadable, "readable"}
}

func writable(t poller.Token) readiness {
	return readiness{t, poller.Event.IsWritable, "writable"}
}

func readClosed(t poller.Token) readiness {
	return readiness{t, poller.Event.IsReadClosed, "read-closed"}
}

func writeClosed(t poller.Token) readiness {
	return readiness{t, poller.Event.IsWriteClosed, "write-closed"}
}

// expectEvents polls until every expectation has been met by some event,
// failing after a generous deadline. It returns every event it saw.
func expectEvents(t testing.TB, p *poller.Poll, want ...readiness) []poller.Event {
	t.Helper()
	events := poller.NewEvents(64)
	var seen []poller.Event
	met := make([]bool, len(want))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, p.Poll(events, 100*time.Millisecond))
		for ev := range events.All() {
			seen = append(seen, ev)
			for i, w := range want {
				if ev.Token() == w.token && w.check(ev) {
					met[i] = true
				}
			}
		}
		all := true
		for _, m := range met {
			all = all && m
		}
		if all {
			return seen
		}
	}
	for i, w := range want {
		if !met[i] {
			t.Fatalf("no %s event for token %d; saw %v", w.what, w.token, seen)
		}
	}
	return seen
}

// expectNoEvents polls for a while and fails on any event.
func expectNoEvents(t testing.TB, p *poller.Poll) {
	t.Helper()
	events := poller.NewEvents(16)
	require.NoError(t, p.Poll(events, 50*time.Millisecond))
	var seen []poller.Event
	for ev := range events.All() {
		seen = append(seen, ev)
	}
	require.Empty(t, seen, "expected no events")
}

func newPoll(t testing.TB) *poller.Poll {
	t.Helper()
	p, err := poller.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// socketPair returns a connected, non-blocking stream socket pair.
func socketPair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		require.NoError(t, unix.SetNonblock(fd, true))
		unix.CloseOnExec(fd)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	return fds[0], fds[1]
}

// pipe returns a non-blocking pipe; closing either end early is allowed.
func pipe(t testing.TB) (r, w int) {
	t.Helper()
	var p [2]int
	require.NoError(t, unix.Pipe(p[:]))
	for _, fd := range p {
		require.NoError(t, unix.SetNonblock(fd, true))
		unix.CloseOnExec(fd)
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	return p[0], p[1]
}

func write(t testing.TB, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

// drain reads fd until it would block and returns what it read.
func drain(t testing.TB, fd int) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			return string(out)
		}
		require.NoError(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

// openFds counts this process's open descriptors.
func openFds(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/dev/fd")
	require.NoError(t, err)
	return len(entries)
}
