//go:build unix

package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// tally counts down a countdown when polled, panicking first when boom is
// set (the countdown is still counted: the panic is the point).
type tally struct {
	c    *countdown
	boom bool
}

func (f tally) Poll(*task.Context) (struct{}, bool) {
	f.c.dec()
	if f.boom {
		panic("boom")
	}
	return struct{}{}, true
}

// goFromTask spawns n tallies with GoFrom, every tenth one panicking.
type goFromTask struct {
	rt *runtime.Runtime
	c  *countdown
	n  int
}

func (g goFromTask) Poll(cx *task.Context) (struct{}, bool) {
	for i := range g.n {
		runtime.GoFrom(g.rt, cx, task.Future[struct{}](tally{c: g.c, boom: i%10 == 0}))
	}
	return struct{}{}, true
}

func TestGoRunsEveryTaskAndItsPanicsHurtNobody(t *testing.T) {
	var handled atomic.Int64
	rt := newRuntime(t, runtime.WithPanicHandler(func(err *task.PanicError) {
		if err.Value == "boom" && errors.Is(err, task.ErrPanicked) {
			handled.Add(1)
		}
		panic("the handler's own panic is dropped")
	}))
	const n = 5000
	c := newCountdown(2 * n)
	for i := range n {
		runtime.Go(rt, task.Future[struct{}](tally{c: c, boom: i%10 == 0}))
	}
	runtime.Go(rt, task.Future[struct{}](goFromTask{rt: rt, c: c, n: n}))
	select {
	case <-c.done:
	case <-time.After(probeTimeout):
		t.Fatalf("%d of %d tasks ran within %v", 2*n-c.left.Load(), 2*n, probeTimeout)
	}
	// The workers survived the panics: a spawn after them still runs.
	v, err := waitBounded(t, runtime.Spawn(rt, ready(7)))
	require.NoError(t, err)
	require.Equal(t, 7, v)
	// Each panic reached the handler, and the count, before its task
	// ended (the countdown counts before the panic, so wait for them).
	const panics = 2 * n / 10
	waitCount(t, &handled, panics, "panics handled")
	require.Equal(t, uint64(panics), rt.Metrics().Panics)

	_, err = runtime.New(runtime.WithPanicHandler(nil))
	require.Error(t, err)
}

// idleForever is pending at every poll and counts its polls and Drops.
type idleForever struct {
	polls, drops *atomic.Int64
}

func (f idleForever) Poll(*task.Context) (struct{}, bool) {
	f.polls.Add(1)
	return struct{}{}, false
}

func (f idleForever) Drop() { f.drops.Add(1) }

func TestShutdownDropsIdleGoTasksAndGoAfterItPollsNothing(t *testing.T) {
	before := goruntime.NumGoroutine()
	rt, err := runtime.New()
	require.NoError(t, err)
	const n = 1000
	var polls, drops atomic.Int64
	for range n {
		runtime.Go(rt, task.Future[struct{}](idleForever{&polls, &drops}))
	}
	waitCount(t, &polls, n, "first polls")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))
	require.Equal(t, int64(n), drops.Load(), "every idle task's future is dropped")

	runtime.Go(rt, task.Future[struct{}](idleForever{&polls, &drops}))
	require.Equal(t, int64(n+1), drops.Load(), "Go after Shutdown drops its future")
	require.Equal(t, int64(n), polls.Load(), "and never polls it")
	requireGoroutinesBackTo(t, before)
}

// wakeAgain is a first-round task: its first poll keeps its Waker where
// the test can find it after the task is gone, wakes itself and waits; its
// second completes.
type wakeAgain struct {
	i      int
	stale  []task.Waker
	tasks  []*task.Task
	polled bool
	c      *countdown
}

func (f *wakeAgain) Poll(cx *task.Context) (struct{}, bool) {
	if !f.polled {
		f.polled = true
		f.stale[f.i] = cx.Waker()
		f.tasks[f.i] = cx.Task()
		cx.Waker().Wake()
		return struct{}{}, false
	}
	f.c.dec()
	return struct{}{}, true
}

// wokenOnce is a second-round task: its first poll gives itself to a
// goroutine that marks it woken and wakes it, once; it completes at the
// poll that finds the mark. Any poll between is a wake it was not owed.
type wokenOnce struct {
	polls  atomic.Int64
	woken  atomic.Bool
	waker  task.Waker
	task   *task.Task
	wakers chan<- *wokenOnce
	c      *countdown
}

func (f *wokenOnce) Poll(cx *task.Context) (struct{}, bool) {
	if f.polls.Add(1) == 1 {
		f.task = cx.Task()
		f.waker = cx.Waker()
		f.wakers <- f
		return struct{}{}, false
	}
	if !f.woken.Load() {
		return struct{}{}, false // polled for somebody else's wake
	}
	f.c.dec()
	return struct{}{}, true
}

// goEach spawns each of fs with GoFrom, so they take memory the tasks
// that completed on this worker left.
type goEach[F task.Future[struct{}]] struct {
	rt *runtime.Runtime
	fs []F
}

func (g goEach[F]) Poll(cx *task.Context) (struct{}, bool) {
	for _, f := range g.fs {
		runtime.GoFrom(g.rt, cx, task.Future[struct{}](f))
	}
	return struct{}{}, true
}

// TestStaleWakersOfReusedGoTasksWakeNobody hammers the Wakers of completed
// tasks from another goroutine while new tasks run in their memory. Every
// new task must be polled exactly twice: once to start, once for the one
// wake it was owed. A stale wake that reached a task now in the same
// memory would poll it a third time.
func TestStaleWakersOfReusedGoTasksWakeNobody(t *testing.T) {
	rt := newRuntime(t)
	const n = 2000
	stale := make([]task.Waker, n)
	oldTasks := make([]*task.Task, n)
	first := make([]*wakeAgain, n)
	c1 := newCountdown(n)
	for i := range first {
		first[i] = &wakeAgain{i: i, stale: stale, tasks: oldTasks, c: c1}
	}
	runtime.Go(rt, task.Future[struct{}](goEach[*wakeAgain]{rt, first}))
	select {
	case <-c1.done:
	case <-time.After(probeTimeout):
		t.Fatal("the first round did not finish")
	}

	stop := make(chan struct{})
	hammered := make(chan int64)
	go func() {
		var wakes int64
		for {
			for _, w := range stale {
				w.Wake()
			}
			wakes += int64(len(stale))
			select {
			case <-stop:
				hammered <- wakes
				return
			default:
			}
		}
	}()

	wakers := make(chan *wokenOnce, n)
	go func() {
		for f := range wakers {
			f.woken.Store(true)
			f.waker.Wake()
		}
	}()
	defer close(wakers)
	second := make([]*wokenOnce, n)
	c2 := newCountdown(n)
	for i := range second {
		second[i] = &wokenOnce{wakers: wakers, c: c2}
	}
	runtime.Go(rt, task.Future[struct{}](goEach[*wokenOnce]{rt, second}))
	select {
	case <-c2.done:
	case <-time.After(probeTimeout):
		t.Fatal("the second round did not finish")
	}
	close(stop)
	wakes := <-hammered

	old := make(map[*task.Task]bool, n)
	for _, tk := range oldTasks {
		old[tk] = true
	}
	reused := 0
	for i, f := range second {
		require.Equal(t, int64(2), f.polls.Load(), "task %d was polled for a wake it was not owed", i)
		if old[f.task] {
			reused++
		}
	}
	require.NotZero(t, reused, "no second-round task reused a first-round task's memory")
	t.Logf("%d of %d second-round tasks ran in a first-round task's memory; %d stale wakes", reused, n, wakes)
}
