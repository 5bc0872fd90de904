//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/poller"
)

func TestWakerWakesFromAnotherGoroutine(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 10)
	require.NoError(t, err)
	defer w.Close()

	events := poller.NewEvents(8)
	done := make(chan error, 1)
	go func() { done <- p.Poll(events, -1) }()
	require.NoError(t, w.Wake())
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Equal(t, 1, events.Len())
		ev := events.At(0)
		require.Equal(t, poller.Token(10), ev.Token())
		require.True(t, ev.IsReadable())
	case <-time.After(5 * time.Second):
		t.Fatal("Wake did not wake the Poll")
	}
}

func TestWakerWakeBeforePollIsNotLost(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 10)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.Wake())
	expectEvents(t, p, readable(10))
}

func TestWakerWakesCoalesce(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 10)
	require.NoError(t, err)
	defer w.Close()
	for range 100 {
		require.NoError(t, w.Wake())
	}
	events := poller.NewEvents(8)
	require.NoError(t, p.Poll(events, time.Second))
	require.Equal(t, 1, events.Len(), "a hundred wakes before a poll make one event")
	expectNoEvents(t, p)
	// And the Waker still works after coalescing.
	require.NoError(t, w.Wake())
	expectEvents(t, p, readable(10))
}

func TestSeveralWakersKeepTheirTokens(t *testing.T) {
	p := newPoll(t)
	const n = 4
	wakers := make([]*poller.Waker, n)
	for i := range wakers {
		w, err := poller.NewWaker(p.Registry(), poller.Token(100+i))
		require.NoError(t, err)
		defer w.Close()
		wakers[i] = w
	}
	// Each Waker alone wakes with its own token, and only that one.
	for i, w := range wakers {
		require.NoError(t, w.Wake())
		seen := expectEvents(t, p, readable(poller.Token(100+i)))
		for _, ev := range seen {
			require.Equal(t, poller.Token(100+i), ev.Token())
		}
	}
	for _, w := range wakers {
		require.NoError(t, w.Wake())
	}
	expectEvents(t, p, readable(100), readable(101), readable(102), readable(103))
}

func TestWakerAfterCloseReportsClosed(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 1)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Wake(), poller.ErrClosed)
	require.ErrorIs(t, w.Close(), poller.ErrClosed)
	expectNoEvents(t, p)
}

func TestWakerManyGoroutinesNoWakeLost(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 5)
	require.NoError(t, err)
	defer w.Close()

	// Rounds of: many goroutines wake, the poller must see at least one
	// event per round, and the round must end (no wake lost while the
	// poller is between waits).
	events := poller.NewEvents(8)
	for range 200 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Wake(); err != nil {
					t.Error(err)
				}
			}()
		}
		require.NoError(t, p.Poll(events, 5*time.Second))
		require.Equal(t, 1, events.Len())
		require.Equal(t, poller.Token(5), events.At(0).Token())
		wg.Wait()
		// Drain whatever the later wakes of this round left behind.
		require.NoError(t, p.Poll(events, 0))
	}
}

// A caller may use any Token, including the one metal's own wake-up borrows
// on Linux; its events must still arrive, and internal wake-ups (Close here)
// must still not surface as events.
func TestEveryTokenValueBelongsToTheCaller(t *testing.T) {
	p := newPoll(t)
	const maxToken = ^poller.Token(0)
	w, err := poller.NewWaker(p.Registry(), maxToken)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.Wake())
	expectEvents(t, p, readable(maxToken))

	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), maxToken-1, poller.Readable))
	write(t, b, "x")
	expectEvents(t, p, readable(maxToken-1))
}
