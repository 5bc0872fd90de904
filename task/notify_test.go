package task

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNotifyOneWithNobodyWaitingLeavesOnePermit(t *testing.T) {
	var n Notify
	n.NotifyOne()
	n.NotifyOne() // permits do not add up
	hp := newHandPoller()
	_, ok := pollOnce(hp, n.Notified())
	require.True(t, ok, "the permit")
	_, ok = pollOnce(hp, n.Notified())
	require.False(t, ok, "only one permit")
}

func TestNotifyOneWakesTheLongestWaiter(t *testing.T) {
	var n Notify
	p1, p2 := newHandPoller(), newHandPoller()
	f1, f2 := n.Notified(), n.Notified()
	pollOnce(p1, f1)
	pollOnce(p2, f2)
	n.NotifyOne()
	require.Equal(t, 1, p1.w.count())
	require.Zero(t, p2.w.count())
	_, ok := pollOnce(p1, f1)
	require.True(t, ok)
	_, ok = pollOnce(p2, f2)
	require.False(t, ok)
	n.NotifyOne()
	require.Equal(t, 1, p2.w.count())
	_, ok = pollOnce(p2, f2)
	require.True(t, ok)
}

func TestNotifiedCanBeReusedToWaitAgain(t *testing.T) {
	var n Notify
	hp := newHandPoller()
	f := n.Notified()
	for range 3 {
		_, ok := pollOnce(hp, f)
		require.False(t, ok)
		n.NotifyOne()
		_, ok = pollOnce(hp, f)
		require.True(t, ok)
	}
	require.Equal(t, 3, hp.w.count())
}

func TestNotifyAllWakesCurrentWaitersOnly(t *testing.T) {
	var n Notify
	hp := newHandPoller()
	const waiters = 3*wakeBatchSize + 1
	var fs []*NotifiedFuture
	for range waiters {
		f := n.Notified()
		_, ok := pollOnce(hp, f)
		require.False(t, ok)
		fs = append(fs, f)
	}
	madeBefore := n.Notified() // made but not polled before the NotifyAll
	n.NotifyAll()
	madeAfter := n.Notified()
	require.Equal(t, waiters, hp.w.count())
	for _, f := range fs {
		_, ok := pollOnce(hp, f)
		require.True(t, ok)
	}
	_, ok := pollOnce(hp, madeBefore)
	require.True(t, ok, "a future made before NotifyAll counts it")
	_, ok = pollOnce(hp, madeAfter)
	require.False(t, ok, "NotifyAll leaves no permit")
}

func TestDroppedNotifiedPassesItsNotificationOn(t *testing.T) {
	var n Notify
	p1, p2 := newHandPoller(), newHandPoller()
	f1, f2 := n.Notified(), n.Notified()
	pollOnce(p1, f1)
	pollOnce(p2, f2)
	n.NotifyOne() // chooses f1
	Drop(Future[struct{}](f1))
	require.Equal(t, 1, p2.w.count(), "f1's notification went to f2")
	_, ok := pollOnce(p2, f2)
	require.True(t, ok)

	// With nobody else waiting it becomes the permit.
	f3 := n.Notified()
	pollOnce(p1, f3)
	n.NotifyOne()
	Drop(Future[struct{}](f3))
	_, ok = pollOnce(p1, n.Notified())
	require.True(t, ok)
}

func TestDroppedWaitingNotifiedLeavesTheQueue(t *testing.T) {
	var n Notify
	hp := newHandPoller()
	f := n.Notified()
	pollOnce(hp, f)
	Drop(Future[struct{}](f))
	n.NotifyOne()
	require.Zero(t, hp.w.count(), "nobody to wake")
	_, ok := pollOnce(hp, n.Notified())
	require.True(t, ok, "the notification became the permit")
}

func TestNotifiedWaitAndWakeDoNotAllocate(t *testing.T) {
	var n Notify
	hp := newHandPoller()
	f := n.Notified()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := pollOnce(hp, f); ok {
			panic("ready without a notification")
		}
		n.NotifyOne()
		if _, ok := pollOnce(hp, f); !ok {
			panic("not woken")
		}
	})
	require.Zero(t, allocs)
}

func TestNotifyPingPongBetweenTasksLosesNothing(t *testing.T) {
	// Two tasks take turns, each notifying the other and waiting for its
	// turn; one lost notification and both wait for ever.
	const rounds = 10_000
	e := newChanExec(t, 2)
	var ping, pong Notify
	var turn atomic.Int64
	player := func(mine, theirs *Notify, parity int64) Future[int64] {
		return Coroutine(func(co *Co) int64 {
			wait := mine.Notified()
			for {
				v := turn.Load()
				if v >= rounds {
					theirs.NotifyOne()
					return v
				}
				if v%2 == parity {
					turn.Add(1)
					theirs.NotifyOne()
				}
				Await(co, wait)
			}
		})
	}
	a := execSpawn(e, player(&ping, &pong, 0))
	b := execSpawn(e, player(&pong, &ping, 1))
	va, err := waitFor(t, a)
	require.NoError(t, err)
	vb, err := waitFor(t, b)
	require.NoError(t, err)
	require.Equal(t, int64(rounds), va)
	require.Equal(t, int64(rounds), vb)
}

func TestNotifyFromGoroutinesToAWaitingTaskLosesNothing(t *testing.T) {
	// Goroutines bump a counter and NotifyOne; the task checks the counter
	// after each wake. It can miss a count only by losing a notification.
	const notifiers, each = 4, 5_000
	e := newChanExec(t, 2)
	var n Notify
	var count atomic.Int64
	h := execSpawn(e, Future[int64](FutureFunc[int64](func() func(cx *Context) (int64, bool) {
		wait := n.Notified()
		return func(cx *Context) (int64, bool) {
			for {
				if v := count.Load(); v == notifiers*each {
					return v, true
				}
				if _, ok := wait.Poll(cx); !ok {
					return 0, false
				}
			}
		}
	}())))
	var wg sync.WaitGroup
	for range notifiers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				count.Add(1)
				n.NotifyOne()
			}
		}()
	}
	wg.Wait()
	v, err := waitFor(t, h)
	require.NoError(t, err)
	require.Equal(t, int64(notifiers*each), v)
}

func TestNotifyAllWakesEveryWaitingTask(t *testing.T) {
	// Tasks on two workers register, then say so; one NotifyAll must wake
	// every one of them, wherever it runs.
	e := newChanExec(t, 2)
	for range 50 {
		var n Notify
		const waiters = 40
		var registered sync.WaitGroup
		registered.Add(waiters)
		var hs []*JoinHandle[struct{}]
		for range waiters {
			f := n.Notified()
			once := false
			hs = append(hs, execSpawn(e, Future[struct{}](FutureFunc[struct{}](func(cx *Context) (struct{}, bool) {
				v, ok := f.Poll(cx)
				if !once {
					once = true
					registered.Done()
				}
				return v, ok
			}))))
		}
		registered.Wait()
		n.NotifyAll()
		for _, h := range hs {
			_, err := waitFor(t, h)
			require.NoError(t, err)
		}
	}
}
