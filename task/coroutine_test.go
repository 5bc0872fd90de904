package task

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// coroutineGoroutines counts the goroutines running a coroutine's body.
func coroutineGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "task.(*coroutine[...]).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestCoroutineRunsStraightLineAcrossPolls(t *testing.T) {
	hp := newHandPoller()
	a, b := &probe[int]{}, &probe[int]{}
	var log []string
	f := Coroutine(func(co *Co) int {
		log = append(log, "start")
		x := Await(co, Future[int](a))
		log = append(log, "a")
		var y Yield
		Await(co, &y)
		log = append(log, "yielded")
		z := Await(co, Future[int](b))
		log = append(log, "b")
		return x + z
	})
	require.Empty(t, log, "nothing runs before the first poll")

	_, ok := pollOnce(hp, f)
	require.False(t, ok)
	require.Equal(t, []string{"start"}, log)
	_, ok = pollOnce(hp, f)
	require.False(t, ok)
	require.Equal(t, 2, a.polls, "each poll re-polls the awaited future")

	a.set(40)
	_, ok = pollOnce(hp, f)
	require.False(t, ok, "the Yield")
	require.Equal(t, []string{"start", "a"}, log)
	require.Equal(t, 1, hp.w.count(), "the Yield woke the task")

	_, ok = pollOnce(hp, f)
	require.False(t, ok, "b is pending")
	require.Equal(t, []string{"start", "a", "yielded"}, log)

	b.set(2)
	v, ok := pollOnce(hp, f)
	require.True(t, ok)
	require.Equal(t, 42, v)
	require.Equal(t, []string{"start", "a", "yielded", "b"}, log)
	require.Zero(t, a.drops+b.drops)
}

func TestCoroutineThatNeverWaitsIsReadyAtTheFirstPoll(t *testing.T) {
	v, ok := pollOnce(newHandPoller(), Coroutine(func(co *Co) string {
		return Await(co, Ready("now"))
	}))
	require.True(t, ok)
	require.Equal(t, "now", v)
}

func TestCoroutinePanicIsAPanicOfPollWithTheSameValue(t *testing.T) {
	hp := newHandPoller()
	boom := errors.New("boom")
	f := Coroutine(func(co *Co) int {
		Await(co, YieldNow())
		panic(boom)
	})
	_, ok := pollOnce(hp, f)
	require.False(t, ok)
	require.PanicsWithValue(t, boom, func() { pollOnce(hp, f) })
	require.NotPanics(t, func() { Drop(f) }, "a finished coroutine has nothing to drop")
}

func TestCoroutinePanicEndsItsTaskWithAPanicError(t *testing.T) {
	e := newChanExec(t, 2)
	h := execSpawn(e, Coroutine(func(co *Co) int {
		Await(co, YieldNow())
		panic("coroutine exploded")
	}))
	_, err := waitFor(t, h)
	require.ErrorIs(t, err, ErrPanicked)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "coroutine exploded", pe.Value)
}

func TestCoroutineDropMidAwaitEndsItsGoroutineAndDropsTheAwaited(t *testing.T) {
	hp := newHandPoller()
	before := runtime.NumGoroutine()
	const n = 20
	var fs []Future[int]
	var ps []*probe[int]
	deferred := 0
	for range n {
		p := &probe[int]{}
		ps = append(ps, p)
		f := Coroutine(func(co *Co) int {
			defer func() { deferred++ }()
			return Await(co, Future[int](p))
		})
		_, ok := pollOnce(hp, f)
		require.False(t, ok)
		fs = append(fs, f)
	}
	require.Equal(t, n, coroutineGoroutines(), "one parked goroutine per suspended coroutine")

	for _, f := range fs {
		Drop(f)
	}
	for i, p := range ps {
		require.Equal(t, 1, p.drops, "awaited future %d", i)
	}
	require.Equal(t, n, deferred, "every body unwound through its defers")
	require.True(t, waitGoroutines(before), "goroutines: %d, want %d", runtime.NumGoroutine(), before)
	require.Zero(t, coroutineGoroutines())
	require.PanicsWithValue(t, "task: Coroutine polled after Drop", func() { pollOnce(hp, fs[0]) })
}

func TestCoroutineDroppedBeforeItsFirstPollNeverRuns(t *testing.T) {
	ran := false
	f := Coroutine(func(co *Co) int { ran = true; return 0 })
	Drop(f)
	require.False(t, ran)
}

func TestCoroutineBodyThatRecoversTheUnwindingCannotAwaitAgain(t *testing.T) {
	p, q := &probe[int]{}, &probe[int]{}
	var recovered any
	f := Coroutine(func(co *Co) int {
		defer func() {
			recovered = recover()
			// A second Await while dropped drops its future and unwinds
			// at once; the coroutine's wrapper recovers that.
			Await(co, Future[int](q))
		}()
		return Await(co, Future[int](p))
	})
	pollOnce(newHandPoller(), f)
	require.NotPanics(t, func() { Drop(f) })
	require.NotNil(t, recovered)
	require.Equal(t, 1, p.drops)
	require.Equal(t, 1, q.drops)
	require.Zero(t, q.polls)
}

func TestAwaitOutsideTheBodyPanics(t *testing.T) {
	var leaked *Co
	_, ok := pollOnce(newHandPoller(), Coroutine(func(co *Co) int { leaked = co; return 1 }))
	require.True(t, ok)
	require.PanicsWithValue(t, "task: Await called outside its coroutine's body", func() {
		Await(leaked, Ready(1))
	})
}

func TestAbortedCoroutineTaskEndsItsGoroutine(t *testing.T) {
	e := newChanExec(t, 2)
	before := runtime.NumGoroutine()
	p := &probe[int]{}
	startedTx, startedRx := NewOneshot[struct{}]()
	unwound := false
	h := execSpawn(e, Coroutine(func(co *Co) int {
		defer func() { unwound = true }()
		_ = startedTx.Send(struct{}{})
		return Await(co, Future[int](p))
	}))
	_, err := blockFor(Future[Result[struct{}]](startedRx))
	require.NoError(t, err)
	h.Abort()
	_, err = waitFor(t, h)
	require.ErrorIs(t, err, ErrAborted)
	require.True(t, unwound)
	require.Equal(t, 1, p.drops)
	require.True(t, waitGoroutines(before), "goroutines: %d, want %d", runtime.NumGoroutine(), before)
	require.Zero(t, coroutineGoroutines())
}

func TestCoroutineAwaitsTheJoinHandleOfAnotherTask(t *testing.T) {
	e := newChanExec(t, 2)
	worker := execSpawn(e, Coroutine(func(co *Co) int {
		sum := 0
		for i := range 10 {
			Await(co, YieldNow())
			sum += i
		}
		return sum
	}))
	boss := execSpawn(e, Coroutine(func(co *Co) string {
		r := Await(co, worker)
		if r.Err != nil {
			return r.Err.Error()
		}
		return fmt.Sprint("sum ", r.Value)
	}))
	v, err := waitFor(t, boss)
	require.NoError(t, err)
	require.Equal(t, "sum 45", v)
}

func TestCoroutineMovesBetweenWorkers(t *testing.T) {
	// Many coroutines yielding many times on two workers: each is resumed
	// from whichever worker runs it, which -race checks is synchronised.
	e := newChanExec(t, 2)
	var hs []*JoinHandle[int]
	for i := range 50 {
		hs = append(hs, execSpawn(e, Coroutine(func(co *Co) int {
			n := i
			var y Yield
			for range 200 {
				Await(co, &y)
				n++
			}
			return n
		})))
	}
	for i, h := range hs {
		v, err := waitFor(t, h)
		require.NoError(t, err)
		require.Equal(t, i+200, v)
	}
}

func TestCoroutineSpendsTheTaskBudgetThroughAwait(t *testing.T) {
	// A coroutine draining a channel that always has a value is stopped by
	// the budget, not by the channel.
	tx, rx := NewChan[int](Budget * 2)
	for i := range Budget * 2 {
		require.NoError(t, tx.TrySend(i))
	}
	got := 0
	f := Coroutine(func(co *Co) int {
		for {
			if r := Await(co, rx.Recv()); r.Err != nil {
				return got
			}
			got++
		}
	})
	hp := newHandPoller()
	_, ok := pollOnce(hp, f)
	require.False(t, ok)
	require.Equal(t, Budget, got)
	require.Equal(t, 1, hp.w.count(), "the spent budget woke the task")
	tx.Close()
	_, ok = pollOnce(hp, f)
	require.False(t, ok, "the second half takes the whole budget too")
	require.Equal(t, Budget*2, got)
	v, ok := pollOnce(hp, f)
	require.True(t, ok, "ErrClosed needs a unit of budget as well")
	require.Equal(t, Budget*2, v)
}
