package task

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// coreExec is the smallest executor: Schedule appends to a queue, and the
// test Runs what is queued on its own goroutine, so every step is visible.
type coreExec struct {
	mu    sync.Mutex
	queue []*Task
}

func (e *coreExec) Schedule(t *Task) {
	e.mu.Lock()
	e.queue = append(e.queue, t)
	e.mu.Unlock()
}

// next pops the next queued task, or nil.
func (e *coreExec) next() *Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.queue) == 0 {
		return nil
	}
	t := e.queue[0]
	e.queue = e.queue[1:]
	return t
}

// drain runs queued tasks until none is left and returns how many Runs it made.
func (e *coreExec) drain() int {
	n := 0
	for t := e.next(); t != nil; t = e.next() {
		n++
		if o := t.Run(); o == Yielded || o == Exhausted {
			e.Schedule(t)
		}
	}
	return n
}

func spawnCore[T any](e *coreExec, f Future[T]) *JoinHandle[T] {
	t, h := New(f, e)
	e.Schedule(t)
	return h
}

func TestTaskRunsToCompletion(t *testing.T) {
	e := &coreExec{}
	h := spawnCore(e, Future[int](FutureFunc[int](func(*Context) (int, bool) { return 42, true })))
	require.False(t, h.IsFinished())
	require.Equal(t, 1, e.drain())
	require.True(t, h.IsFinished())
	v, err := h.Wait()
	require.NoError(t, err)
	require.Equal(t, 42, v)
}

func TestPendingTaskRunsAgainOnlyWhenWoken(t *testing.T) {
	e := &coreExec{}
	var w Waker
	polls := 0
	h := spawnCore(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		polls++
		if polls == 3 {
			return polls, true
		}
		w = cx.Waker()
		return 0, false
	})))
	require.Equal(t, 1, e.drain())
	require.Equal(t, 0, e.drain(), "nobody woke it")
	w.Wake()
	w.Wake() // a second wake while queued costs nothing
	require.Equal(t, 1, e.drain())
	w.Wake()
	require.Equal(t, 1, e.drain())
	require.Equal(t, 3, polls)
	require.True(t, h.IsFinished())
	w.Wake() // waking a finished task does nothing
	require.Equal(t, 0, e.drain())
}

func TestWakeDuringOwnPollMeansExactlyOneMorePoll(t *testing.T) {
	e := &coreExec{}
	polls := 0
	tk, _ := New(Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		polls++
		if polls == 1 {
			cx.Waker().Wake()
			cx.Waker().Wake()
		}
		return 0, false
	})), e)
	require.Equal(t, Yielded, tk.Run())
	require.Equal(t, Idle, tk.Run())
	require.Equal(t, 0, e.drain(), "both wakes during the poll are the one requeue")
	require.Equal(t, 2, polls)
}

func TestBudgetExhaustionIsReported(t *testing.T) {
	e := &coreExec{}
	tk, _ := New(Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		n := 0
		for cx.Proceed() {
			n++
		}
		return n, false
	})), e)
	require.Equal(t, Exhausted, tk.Run())
}

func TestPanicEndsTheTaskWithItsValueAndStack(t *testing.T) {
	e := &coreExec{}
	h := spawnCore(e, Future[int](FutureFunc[int](func(*Context) (int, bool) { panic("boom") })))
	e.drain()
	_, err := h.Wait()
	require.ErrorIs(t, err, ErrPanicked)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "boom", pe.Value)
	require.Contains(t, err.Error(), "boom")
	require.True(t, strings.Contains(string(pe.Stack), "task_test.go"), "the stack is the panicking goroutine's")
}

type dropCounter struct {
	drops int
}

func (d *dropCounter) Poll(*Context) (int, bool) { return 0, false }
func (d *dropCounter) Drop()                     { d.drops++ }

func TestAbortIdleTaskEndsIt(t *testing.T) {
	e := &coreExec{}
	f := &dropCounter{}
	h := spawnCore(e, Future[int](f))
	e.drain()
	require.False(t, h.IsFinished())
	h.Abort()
	h.Abort()
	require.Equal(t, 1, e.drain(), "abort queues an idle task once so a runner cancels it")
	_, err := h.Wait()
	require.ErrorIs(t, err, ErrAborted)
	require.Equal(t, 1, f.drops, "the abandoned future is dropped once")
}

func TestAbortDuringPoll(t *testing.T) {
	e := &coreExec{}
	var h *JoinHandle[int]
	polls := 0
	tk, h := New(Future[int](FutureFunc[int](func(*Context) (int, bool) {
		polls++
		h.Abort()
		return 0, false
	})), e)
	require.Equal(t, Done, tk.Run())
	require.Equal(t, 1, polls)
	_, err := h.Wait()
	require.ErrorIs(t, err, ErrAborted)
	require.Equal(t, 0, e.drain())
}

func TestAbortAfterCompletionKeepsTheResult(t *testing.T) {
	e := &coreExec{}
	h := spawnCore(e, readyOf(7))
	e.drain()
	h.Abort()
	v, err := h.Wait()
	require.NoError(t, err)
	require.Equal(t, 7, v)
}

func TestNilFutureEndsWithAnError(t *testing.T) {
	e := &coreExec{}
	h := spawnCore[int](e, nil)
	e.drain()
	_, err := h.Wait()
	require.ErrorIs(t, err, ErrNilFuture)
}

func TestSetCloseShutsDownIdleAndQueuedTasks(t *testing.T) {
	e := &coreExec{}
	var s Set
	errStop := errors.New("stop")
	var hs []*JoinHandle[int]
	for i := 0; i < 10; i++ {
		tk, h := New(Future[int](&dropCounter{}), e)
		require.True(t, s.Add(tk))
		e.Schedule(tk)
		hs = append(hs, h)
	}
	// Half have been polled once (idle); half are still queued.
	for i := 0; i < 5; i++ {
		require.Equal(t, Idle, e.next().Run())
	}
	require.Equal(t, 10, s.Len())
	s.Close(errStop)
	require.Equal(t, 0, s.Len())
	for _, h := range hs {
		require.True(t, h.IsFinished())
		_, err := h.Wait()
		require.ErrorIs(t, err, errStop)
	}
	require.Equal(t, 5, e.drain(), "stale queue entries run to nothing")
	tk, h := New(readyOf(1), e)
	require.False(t, s.Add(tk), "a closed set takes nothing")
	tk.Shutdown(errStop)
	_, err := h.Wait()
	require.ErrorIs(t, err, errStop)
}

func TestCompletedTaskLeavesItsSet(t *testing.T) {
	e := &coreExec{}
	var s Set
	for i := 0; i < 3; i++ {
		tk, _ := New(readyOf(i), e)
		require.True(t, s.Add(tk))
		e.Schedule(tk)
	}
	require.Equal(t, 3, s.Len())
	e.drain()
	require.Equal(t, 0, s.Len())
}

func TestWatchedTaskJoinsItsSetOnlyWhenItWaits(t *testing.T) {
	e := &coreExec{}
	var s Set
	quick, _ := New(readyOf(1), e)
	s.Watch(quick)
	waiter := &dropCounter{}
	slow, slowH := New(Future[int](waiter), e)
	s.Watch(slow)
	e.Schedule(quick)
	e.Schedule(slow)
	require.Zero(t, s.Len(), "watching takes no place in the set")
	e.drain()
	require.True(t, quick.IsComplete())
	require.Equal(t, 1, s.Len(), "only the task that waits joined")

	// Close cancels the waiting one; a watched task that would wait after
	// the close is cancelled with the set's error instead of joining.
	late, lateH := New(Future[int](&dropCounter{}), e)
	s.Watch(late)
	e.Schedule(late)
	errStop := errors.New("stop")
	s.Close(errStop)
	_, err := slowH.Wait()
	require.ErrorIs(t, err, errStop)
	require.Equal(t, 1, waiter.drops)
	require.Equal(t, Done, e.next().Run())
	_, err = lateH.Wait()
	require.ErrorIs(t, err, errStop)
	require.Zero(t, s.Len())
}

func TestJoinHandleAsFutureWakesTheJoiner(t *testing.T) {
	e := &coreExec{}
	var inner Waker
	innerDone := false
	h := spawnCore(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		if innerDone {
			return 5, true
		}
		inner = cx.Waker()
		return 0, false
	})))
	outer := spawnCore(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		r, ok := h.Poll(cx)
		return r.Value * 2, ok
	})))
	e.drain()
	require.False(t, outer.IsFinished())
	innerDone = true
	inner.Wake()
	e.drain()
	v, err := outer.Wait()
	require.NoError(t, err)
	require.Equal(t, 10, v)
}

func TestDetachDropsTheResult(t *testing.T) {
	e := &coreExec{}
	big := make([]byte, 1<<10)
	h := spawnCore(e, readyOf(big))
	h.Detach()
	e.drain()
	require.Nil(t, h.result.Value, "nobody will read it, so the task forgets it")
}

func TestWakeAndRunDoNotAllocate(t *testing.T) {
	e := &coreExec{queue: make([]*Task, 0, 4)}
	tk, _ := New(Future[int](FutureFunc[int](func(*Context) (int, bool) { return 0, false })), e)
	tk.Run()
	allocs := testing.AllocsPerRun(1000, func() {
		tk.Wake()
		e.mu.Lock()
		e.queue = e.queue[:0]
		e.mu.Unlock()
		tk.Run()
	})
	require.Zero(t, allocs)
}

func readyOf[T any](v T) Future[T] {
	return FutureFunc[T](func(*Context) (T, bool) { return v, true })
}

func TestContextDoneCompletesWithTheContextsError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := ContextDone(ctx)
	polled := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(polled)
		err, _ := Block(context.Background(), f)
		done <- err
	}()
	<-polled
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// Dropped before the context ends: the callback is unregistered.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	f2 := ContextDone(ctx2)
	_, ok := f2.Poll(NewContext(Waker{}))
	require.False(t, ok)
	Drop(f2)
	require.False(t, f2.(*contextDone).stop(), "Drop stopped the AfterFunc already")
}
