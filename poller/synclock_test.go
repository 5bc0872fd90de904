package poller

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPollLockUncontendedIsOneCASEachWay(t *testing.T) {
	l := newPollLock()
	left, ok := l.lock(-1)
	require.True(t, ok)
	require.Equal(t, time.Duration(-1), left)
	require.Equal(t, uint64(lockedBit), l.state.Load())
	l.unlock()
	require.Zero(t, l.state.Load())
	require.Zero(t, len(l.signal), "nobody waited: no signal")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		l.lock(time.Second)
		l.unlock()
	}))
}

func TestPollLockZeroTimeoutUnderContentionGivesUp(t *testing.T) {
	l := newPollLock()
	l.lock(-1)
	_, ok := l.lock(0)
	require.False(t, ok)
	require.Equal(t, uint64(lockedBit), l.state.Load(), "a zero-timeout caller never counts itself in")
	l.unlock()
}

func TestPollLockTimedWaitAllocatesNothingOnceWarm(t *testing.T) {
	l := newPollLock()
	l.lock(-1)
	defer l.unlock()
	l.lock(time.Millisecond) // warm the timer pool
	allocs := testing.AllocsPerRun(20, func() {
		_, ok := l.lock(time.Millisecond)
		require.False(t, ok)
	})
	require.Zero(t, allocs)
	require.Equal(t, uint64(lockedBit), l.state.Load(), "waiters that gave up are counted out")
}

func TestPollLockTimedWaitTakesTimeOff(t *testing.T) {
	l := newPollLock()
	l.lock(-1)
	got := make(chan time.Duration, 1)
	go func() {
		left, ok := l.lock(10 * time.Second)
		require.True(t, ok)
		got <- left
		l.unlock()
	}()
	// Let the waiter count itself in, then hand over after a while.
	require.Eventually(t, func() bool { return l.state.Load() == lockedBit+oneWaiter }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the time the waiter must be charged for
	l.unlock()
	left := <-got
	require.Less(t, left, 10*time.Second-50*time.Millisecond)
	require.Greater(t, left, time.Duration(0))
}

// Mutual exclusion under load: never two holders at once, every caller
// eventually gets in.
func TestPollLockExcludes(t *testing.T) {
	l := newPollLock()
	var (
		inside int
		mu     sync.Mutex
		wg     sync.WaitGroup
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				timeout := time.Duration(-1)
				if (g+i)%3 == 0 {
					timeout = time.Millisecond
				}
				if _, ok := l.lock(timeout); !ok {
					continue
				}
				mu.Lock()
				inside++
				require.Equal(t, 1, inside)
				inside--
				mu.Unlock()
				l.unlock()
			}
		}()
	}
	wg.Wait()
	require.Zero(t, l.state.Load())
}
