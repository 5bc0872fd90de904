package task

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSemaphoreTryAcquireAndRelease(t *testing.T) {
	s := NewSemaphore(3)
	require.True(t, s.TryAcquire(2))
	require.Equal(t, 1, s.Available())
	require.False(t, s.TryAcquire(2))
	require.True(t, s.TryAcquire(1))
	require.True(t, s.TryAcquire(0))
	s.Release(3)
	require.Equal(t, 3, s.Available())
	require.Panics(t, func() { NewSemaphore(-1) })
	require.Panics(t, func() { s.Release(-1) })
}

func TestSemaphoreAcquireWaitsForRelease(t *testing.T) {
	s := NewSemaphore(1)
	hp := newHandPoller()
	a := s.Acquire(1)
	_, ok := pollOnce(hp, a)
	require.True(t, ok)
	b := s.Acquire(1)
	_, ok = pollOnce(hp, b)
	require.False(t, ok)
	s.Release(1)
	require.Equal(t, 1, hp.w.count())
	require.Zero(t, s.Available(), "the permit went to the waiter")
	_, ok = pollOnce(hp, b)
	require.True(t, ok)
}

func TestSemaphoreIsFirstComeFirstServed(t *testing.T) {
	s := NewSemaphore(2)
	require.True(t, s.TryAcquire(2))
	big, small := newHandPoller(), newHandPoller()
	b := s.Acquire(3)
	c := s.Acquire(1)
	_, ok := pollOnce(big, b)
	require.False(t, ok)
	_, ok = pollOnce(small, c)
	require.False(t, ok)

	s.Release(2)
	require.Equal(t, 2, s.Available())
	require.False(t, s.TryAcquire(1), "the permits are kept for the request at the head")
	require.Zero(t, big.w.count()+small.w.count(), "2 permits satisfy neither: the small one waits behind the big one")

	s.Release(1)
	require.Equal(t, 1, big.w.count())
	require.Zero(t, small.w.count())
	_, ok = pollOnce(big, b)
	require.True(t, ok)

	s.Release(1)
	require.Equal(t, 1, small.w.count())
	_, ok = pollOnce(small, c)
	require.True(t, ok)
	require.Zero(t, s.Available())
}

func TestSemaphoreDroppingTheHeadLetsTheNextThrough(t *testing.T) {
	s := NewSemaphore(2)
	hp, next := newHandPoller(), newHandPoller()
	b := s.Acquire(3)
	c := s.Acquire(1)
	pollOnce(hp, b)
	pollOnce(next, c)
	require.Zero(t, next.w.count())
	Drop(Future[struct{}](b))
	require.Equal(t, 1, next.w.count())
	_, ok := pollOnce(next, c)
	require.True(t, ok)
	require.Equal(t, 1, s.Available())
}

func TestSemaphoreDroppingAGrantedAcquireReleasesItsPermits(t *testing.T) {
	s := NewSemaphore(0)
	p1, p2 := newHandPoller(), newHandPoller()
	a := s.Acquire(2)
	b := s.Acquire(2)
	pollOnce(p1, a)
	pollOnce(p2, b)
	s.Release(2) // granted to a
	require.Equal(t, 1, p1.w.count())
	Drop(Future[struct{}](a))
	require.Equal(t, 1, p2.w.count(), "a's permits went on to b")
	_, ok := pollOnce(p2, b)
	require.True(t, ok)

	// Dropping a completed acquire releases nothing: the permits are the
	// caller's.
	Drop(Future[struct{}](b))
	require.Zero(t, s.Available())
}

func TestSemaphoreReleaseWakesManyWaiters(t *testing.T) {
	s := NewSemaphore(0)
	hp := newHandPoller()
	const n = 3*wakeBatchSize + 5
	var fs []*AcquireFuture
	for range n {
		f := s.Acquire(1)
		pollOnce(hp, f)
		fs = append(fs, f)
	}
	s.Release(n)
	require.Equal(t, n, hp.w.count())
	for _, f := range fs {
		_, ok := pollOnce(hp, f)
		require.True(t, ok)
	}
	require.Zero(t, s.Available())
}

func TestSemaphoreAcquireWaitAndWakeDoNotAllocate(t *testing.T) {
	s := NewSemaphore(1)
	hp := newHandPoller()
	mine, other := s.Acquire(1), s.Acquire(1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := pollOnce(hp, mine); !ok {
			panic("free permit not taken")
		}
		if _, ok := pollOnce(hp, other); ok {
			panic("no permit, but acquired")
		}
		s.Release(1)
		if _, ok := pollOnce(hp, other); !ok {
			panic("not granted")
		}
		s.Release(1)
	})
	require.Zero(t, allocs)
}

func TestSemaphoreNeverHasMoreHoldersThanPermits(t *testing.T) {
	const tasks, rounds, permits = 50, 100, 3
	e := newChanExec(t, 2)
	s := NewSemaphore(permits)
	var holders, most atomic.Int32
	var hs []*JoinHandle[int]
	for range tasks {
		hs = append(hs, execSpawn(e, Coroutine(func(co *Co) int {
			acquire := s.Acquire(1)
			var y Yield
			for range rounds {
				Await(co, acquire)
				h := holders.Add(1)
				for m := most.Load(); h > m && !most.CompareAndSwap(m, h); m = most.Load() {
				}
				Await(co, &y) // hold the permit across a trip through the run queue
				holders.Add(-1)
				s.Release(1)
			}
			return rounds
		})))
	}
	total := 0
	for _, h := range hs {
		n, err := waitFor(t, h)
		require.NoError(t, err)
		total += n
	}
	require.Equal(t, tasks*rounds, total)
	require.LessOrEqual(t, most.Load(), int32(permits))
	require.Equal(t, permits, s.Available(), "every permit came back")
}
