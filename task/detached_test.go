package task

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// waitOnce is pending at its first poll, keeping its Waker, and ready at
// the next.
type waitOnce struct {
	polls int
	waker Waker
}

func (f *waitOnce) Poll(cx *Context) (struct{}, bool) {
	f.polls++
	if f.polls == 1 {
		f.waker = cx.Waker()
		return struct{}{}, false
	}
	return struct{}{}, true
}

// pending is never ready; it keeps its latest Waker and counts its polls.
type pending struct {
	polls int
	waker Waker
}

func (f *pending) Poll(cx *Context) (struct{}, bool) {
	f.polls++
	f.waker = cx.Waker()
	return struct{}{}, false
}

// reusedAfter runs detached tasks of waitOnce to completion until the
// memory of one serves the task made next, and returns the finished
// task's future (with its stale Waker) and the task now in its memory. The
// pool may drop what it is given (the race detector makes it do so on
// purpose), hence the attempts.
func reusedAfter(t *testing.T, e *coreExec, next Future[struct{}]) (*waitOnce, *Task) {
	t.Helper()
	for range 1000 {
		old := &waitOnce{}
		a := NewDetached(Future[struct{}](old), e)
		require.Equal(t, Idle, a.Run())
		old.waker.Wake()
		require.Equal(t, 1, e.drain())
		require.Equal(t, 2, old.polls)
		if b := NewDetached(next, e); b == a {
			return old, b
		}
	}
	t.Fatal("no detached task's memory was reused in 1000 tries")
	return nil, nil
}

func TestAReusedTasksOldWakersWakeNothing(t *testing.T) {
	e := &coreExec{}
	now := &pending{}
	old, b := reusedAfter(t, e, Future[struct{}](now))
	require.Equal(t, Idle, b.Run())
	require.Equal(t, 1, now.polls)

	old.waker.Wake()
	require.Equal(t, 0, e.drain(), "a Waker from the task that completed must not wake the one now in its memory")
	require.False(t, old.waker.WillWake(now.waker))
	require.Equal(t, 1, now.polls)

	now.waker.Wake()
	require.Equal(t, 1, e.drain())
	require.Equal(t, 2, now.polls)
	require.True(t, now.waker.WillWake(NewWaker(b)), "NewWaker of a task is its current generation's")
}

func TestADetachedTasksPanicEndsItQuietly(t *testing.T) {
	e := &coreExec{}
	tk := NewDetached(Future[int](FutureFunc[int](func(*Context) (int, bool) { panic("boom") })), e)
	require.Equal(t, Done, tk.Run())
	require.True(t, tk.IsComplete())
}

func TestADetachedTaskOfANilFutureEnds(t *testing.T) {
	e := &coreExec{}
	tk := NewDetached[int](nil, e)
	require.Equal(t, Done, tk.Run())
	require.True(t, tk.IsComplete())
}

func TestShutdownOfADetachedTaskDropsItsFutureAndKeepsItsMemory(t *testing.T) {
	e := &coreExec{}
	f := &dropCounter{}
	tk := NewDetached(Future[int](f), e)
	require.Equal(t, Idle, tk.Run())
	gen := tk.state.load().gen()
	tk.Shutdown(errors.New("stopping"))
	require.Equal(t, 1, f.drops)
	require.True(t, tk.IsComplete())
	// Completed outside Run, where a queue may still hold it: not reused.
	require.Equal(t, gen, tk.state.load().gen())
}

func TestATaskAClosingSetHoldsIsNotReused(t *testing.T) {
	e := &coreExec{}
	var s Set
	f := &waitOnce{}
	tk := NewDetached(Future[struct{}](f), e)
	s.Watch(tk)
	require.Equal(t, Idle, tk.Run())
	require.Equal(t, 1, s.Len())
	gen := tk.state.load().gen()

	// What Close does under the lock, before it calls Shutdown on the
	// tasks it took: it is about to touch tk, so tk's memory must stay
	// tk's even if tk completes first.
	s.mu.Lock()
	s.closed = true
	list := s.head
	s.head, s.n = nil, 0
	for x := list; x != nil; x = x.next {
		x.inSet = false
	}
	s.mu.Unlock()

	f.waker.Wake()
	require.Equal(t, 1, e.drain())
	require.True(t, tk.IsComplete())
	require.Equal(t, gen, tk.state.load().gen(), "reused while Close still held it")
	tk.Shutdown(errors.New("stopping")) // Close's second half: nothing to do
	require.True(t, tk.IsComplete())
}

func TestADetachedTaskThatLeftItsSetIsReused(t *testing.T) {
	e := &coreExec{}
	var s Set
	for range 1000 {
		f := &waitOnce{}
		tk := NewDetached(Future[struct{}](f), e)
		gen := tk.state.load().gen()
		s.Watch(tk)
		require.Equal(t, Idle, tk.Run())
		require.Equal(t, 1, s.Len())
		f.waker.Wake()
		require.Equal(t, 1, e.drain())
		require.Equal(t, 0, s.Len())
		if tk.state.load().gen() == gen+1 {
			require.False(t, tk.IsComplete(), "the next generation starts afresh")
			return
		}
	}
	t.Fatal("no task that left its set was reused in 1000 tries")
}

func TestNewDetachedOfReusedMemoryDoesNotAllocate(t *testing.T) {
	e := &coreExec{queue: make([]*Task, 0, 4)}
	f := Future[struct{}](FutureFunc[struct{}](func(*Context) (struct{}, bool) { return struct{}{}, true }))
	NewDetached(f, e).Run()
	allocs := testing.AllocsPerRun(1000, func() {
		NewDetached(f, e).Run()
	})
	// The pool may drop an object now and then (always some, under the
	// race detector); every other spawn reuses one.
	require.Less(t, allocs, 0.5)
}

func TestSparesKeepMemoryForTheirGoroutineUpToTheirBound(t *testing.T) {
	e := &coreExec{}
	sp := &Spares{}
	ready := Future[struct{}](FutureFunc[struct{}](func(*Context) (struct{}, bool) { return struct{}{}, true }))

	first := NewDetachedFrom(sp, ready, e)
	require.Equal(t, Done, first.RunWith(sp))
	require.Equal(t, 1, sp.Len())
	again := NewDetachedFrom(sp, ready, e)
	require.Same(t, first, again, "the memory just freed is the next task's")
	require.Equal(t, 0, sp.Len())
	require.Equal(t, Done, again.RunWith(sp))

	ts := make([]*Task, maxSpares+10)
	for i := range ts {
		ts[i] = NewDetachedFrom(sp, ready, e)
	}
	require.Equal(t, 0, sp.Len())
	for _, tk := range ts {
		require.Equal(t, Done, tk.RunWith(sp))
	}
	require.Equal(t, maxSpares, sp.Len(), "past the bound, memory goes to the shared pool")

	newest := ts[maxSpares-1] // the last that went to sp, not to the pool
	sp.Trim()
	require.Equal(t, keptSpares, sp.Len(), "a thread going idle keeps a few")
	require.Same(t, newest, NewDetachedFrom(sp, ready, e), "the warmest memory is kept, and taken first")
}

func TestAStaleWakerOfSparedMemoryWakesNothing(t *testing.T) {
	e := &coreExec{}
	sp := &Spares{}
	old := &waitOnce{}
	a := NewDetachedFrom(sp, Future[struct{}](old), e)
	require.Equal(t, Idle, a.RunWith(sp))
	old.waker.Wake()
	tk := e.next()
	require.Same(t, a, tk)
	require.Equal(t, Done, tk.RunWith(sp))

	now := &pending{}
	b := NewDetachedFrom(sp, Future[struct{}](now), e)
	require.Same(t, a, b)
	require.Equal(t, Idle, b.RunWith(sp))
	old.waker.Wake()
	require.Nil(t, e.next(), "the old generation's Waker woke the new one")
	now.waker.Wake()
	require.Same(t, b, e.next())
}

func TestSpawnAndRunFromSparesDoNotAllocate(t *testing.T) {
	e := &coreExec{}
	sp := &Spares{}
	f := Future[struct{}](FutureFunc[struct{}](func(*Context) (struct{}, bool) { return struct{}{}, true }))
	NewDetachedFrom(sp, f, e).RunWith(sp)
	allocs := testing.AllocsPerRun(1000, func() {
		NewDetachedFrom(sp, f, e).RunWith(sp)
	})
	require.Zero(t, allocs)
}

// A spawn allocates one object (New) or reuses one (NewDetached); what it
// costs depends on the allocator's size class it falls in. These are the
// classes the layout was fitted to: a field more moves a spawn up a class.
func TestTaskMemoryStaysInItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Task{}), uintptr(120))
	require.LessOrEqual(t, unsafe.Sizeof(JoinHandle[struct{}]{}), uintptr(176))
	require.LessOrEqual(t, unsafe.Sizeof(detached{}), uintptr(160))
	require.LessOrEqual(t, unsafe.Sizeof(Context{}), uintptr(32))
}

func TestOnlyATasksOwnContextNamesTheTask(t *testing.T) {
	e := &coreExec{}
	var seen *Task
	tk := NewDetached(Future[struct{}](FutureFunc[struct{}](func(cx *Context) (struct{}, bool) {
		seen = cx.Task()
		return struct{}{}, false
	})), e)
	require.Equal(t, Idle, tk.Run())
	require.Same(t, tk, seen)
	// A Context made elsewhere with the task's Waker wakes the task but is
	// not its poll: executors place spawns by Task, and only the poll's
	// own goroutine may do that.
	require.Nil(t, NewContext(NewWaker(tk)).Task())
}
