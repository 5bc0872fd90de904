package task

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestZeroMutexLocksAndUnlocks(t *testing.T) {
	var m Mutex
	require.True(t, m.TryLock())
	require.False(t, m.TryLock())
	m.Unlock()
	_, ok := pollOnce(newHandPoller(), m.Lock())
	require.True(t, ok)
	require.False(t, m.TryLock())
	m.Unlock()
	require.True(t, m.TryLock())
}

func TestMutexUnlockHandsTheLockToTheFirstWaiter(t *testing.T) {
	var m Mutex
	require.True(t, m.TryLock())
	p1, p2 := newHandPoller(), newHandPoller()
	l1, l2 := m.Lock(), m.Lock()
	pollOnce(p1, l1)
	pollOnce(p2, l2)
	m.Unlock()
	require.Equal(t, 1, p1.w.count())
	require.Zero(t, p2.w.count())
	require.False(t, m.TryLock(), "handed over, not released")
	_, ok := pollOnce(p1, l1)
	require.True(t, ok)
	m.Unlock()
	_, ok = pollOnce(p2, l2)
	require.True(t, ok)
	m.Unlock()
}

func TestMutexUnlockOfUnlockedPanics(t *testing.T) {
	var m Mutex
	require.PanicsWithValue(t, "task: Unlock of unlocked Mutex", m.Unlock)
	require.True(t, m.TryLock(), "the failed Unlock changed nothing")
}

func TestMutexDroppedBeforeTakingTheLockPassesItOn(t *testing.T) {
	var m Mutex
	require.True(t, m.TryLock())
	p1, p2 := newHandPoller(), newHandPoller()
	l1, l2 := m.Lock(), m.Lock()
	pollOnce(p1, l1)
	pollOnce(p2, l2)
	m.Unlock() // to l1
	Drop(Future[struct{}](l1))
	require.Equal(t, 1, p2.w.count())
	_, ok := pollOnce(p2, l2)
	require.True(t, ok)
	m.Unlock()
	require.True(t, m.TryLock(), "nothing left locked")
}

func TestMutexExcludesTasksHoldingItAcrossPolls(t *testing.T) {
	// The counter is a plain int: -race reports any two tasks inside the
	// lock at once, and a lost increment shows in the total.
	const tasks, rounds = 20, 200
	e := newChanExec(t, 2)
	var m Mutex
	counter := 0
	var hs []*JoinHandle[struct{}]
	for range tasks {
		hs = append(hs, execSpawn(e, Coroutine(func(co *Co) struct{} {
			lock := m.Lock()
			var y Yield
			for range rounds {
				Await(co, lock)
				v := counter
				Await(co, &y)
				counter = v + 1
				m.Unlock()
			}
			return struct{}{}
		})))
	}
	for _, h := range hs {
		_, err := waitFor(t, h)
		require.NoError(t, err)
	}
	require.True(t, m.TryLock())
	require.Equal(t, tasks*rounds, counter)
}
