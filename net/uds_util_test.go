//go:build unix

package net

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// Test helpers for the Unix-domain socket and pipe tests. They stand in for
// internal/testutil's ExpectEvents/ExpectNoEvents and are prefixed so that
// they cannot collide with the TCP/UDP tests' own.

// udsEventDeadline bounds every wait for an expected event. It is generous
// so a loaded 2-core machine does not fail a correct test; a passing test
// never waits for it.
const udsEventDeadline = 5 * time.Second

// udsQuietPeriod is how long udsExpectNoEvents listens for events that
// should not come.
const udsQuietPeriod = 100 * time.Millisecond

// udsReady is a set of readiness kinds an expected event must include.
type udsReady uint8

const (
	udsReadable udsReady = 1 << iota
	udsWritable
	udsError
	udsReadClosed
	udsWriteClosed
)

// udsWant is one expected event: the token and the kinds it must carry (it
// may carry more).
type udsWant struct {
	token poller.Token
	ready udsReady
}

func (w udsWant) matches(ev poller.Event) bool {
	has := func(k udsReady, got bool) bool { return w.ready&k == 0 || got }
	return ev.Token() == w.token &&
		has(udsReadable, ev.IsReadable()) &&
		has(udsWritable, ev.IsWritable()) &&
		has(udsError, ev.IsError()) &&
		has(udsReadClosed, ev.IsReadClosed()) &&
		has(udsWriteClosed, ev.IsWriteClosed())
}

// udsNewPoll opens a Poll and an Events buffer, closed when the test ends.
func udsNewPoll(t testing.TB) (*poller.Poll, *poller.Events) {
	t.Helper()
	p, err := poller.New()
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p, poller.NewEvents(16)
}

// udsExpectEvents polls until every wanted event has been seen (in any
// order, across any number of Poll calls, other events tolerated as
// spurious) and returns the matching events in the order of wants. It fails
// the test after udsEventDeadline.
func udsExpectEvents(t testing.TB, p *poller.Poll, events *poller.Events, wants ...udsWant) []poller.Event {
	t.Helper()
	found := make([]poller.Event, len(wants))
	seen := make([]bool, len(wants))
	left := len(wants)
	var got []string
	deadline := time.Now().Add(udsEventDeadline)
	for left > 0 {
		wait := time.Until(deadline)
		if wait <= 0 {
			require.Failf(t, "expected events did not arrive",
				"wanted %v; got %s", udsDescribe(wants, seen), strings.Join(got, ", "))
		}
		require.NoError(t, p.Poll(events, wait))
		for ev := range events.All() {
			got = append(got, ev.String())
			for i, w := range wants {
				if !seen[i] && w.matches(ev) {
					seen[i], found[i] = true, ev
					left--
					break
				}
			}
		}
	}
	return found
}

// udsExpectEvent is udsExpectEvents for one event.
func udsExpectEvent(t testing.TB, p *poller.Poll, events *poller.Events, token poller.Token, ready udsReady) poller.Event {
	t.Helper()
	return udsExpectEvents(t, p, events, udsWant{token, ready})[0]
}

// udsExpectNoEvents fails if any event arrives within udsQuietPeriod.
func udsExpectNoEvents(t testing.TB, p *poller.Poll, events *poller.Events) {
	t.Helper()
	require.NoError(t, p.Poll(events, udsQuietPeriod))
	var got []string
	for ev := range events.All() {
		got = append(got, ev.String())
	}
	require.Empty(t, got, "no events were expected")
}

func udsDescribe(wants []udsWant, seen []bool) string {
	names := [...]string{"READABLE", "WRITABLE", "ERROR", "READ_CLOSED", "WRITE_CLOSED"}
	var parts []string
	for i, w := range wants {
		if seen[i] {
			continue
		}
		var kinds []string
		for b, n := range names {
			if w.ready&(1<<b) != 0 {
				kinds = append(kinds, n)
			}
		}
		parts = append(parts, fmt.Sprintf("{token: %d, %s}", w.token, strings.Join(kinds, "|")))
	}
	return strings.Join(parts, ", ")
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
// opens must carry from birth.
func udsRequireNonblockCloexec(t testing.TB, fd int) {
	t.Helper()
	require.GreaterOrEqual(t, fd, 3, "descriptor shadows a standard stream")
	fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	require.NotZero(t, fdFlags&unix.FD_CLOEXEC, "fd %d is not close-on-exec", fd)
	flFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	require.NotZero(t, flFlags&unix.O_NONBLOCK, "fd %d is blocking", fd)
}

// udsReadFull reads exactly len(p) bytes from r, polling for readable
// events with token tok whenever r would block.
func udsReadFull(t testing.TB, p *poller.Poll, events *poller.Events, tok poller.Token,
	read func([]byte) (int, error), buf []byte) {
	t.Helper()
	got := 0
	for got < len(buf) {
		n, err := read(buf[got:])
		if err == poller.ErrWouldBlock {
			udsExpectEvent(t, p, events, tok, udsReadable)
			continue
		}
		require.NoError(t, err)
		got += n
	}
}
