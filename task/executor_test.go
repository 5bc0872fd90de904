package task

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// chanExec is the executor the primitives' tests run tasks on: Schedule
// puts the task in a buffered channel, and worker goroutines Run what
// comes out of it, queueing a task again when it Yielded or Exhausted its
// budget. A task is in the channel at most once (its notified bit is the
// ticket), so the channel never fills with fewer than chanExecQueue tasks.
type chanExec struct {
	queue   chan *Task
	quit    chan struct{}
	workers sync.WaitGroup
	tasks   Set
}

const chanExecQueue = 1 << 14

var errExecStopped = errors.New("chanExec: stopped")

// newChanExec starts an executor with the given number of workers; the
// test's cleanup stops it, cancelling the tasks still alive.
func newChanExec(tb testing.TB, workers int) *chanExec {
	e := &chanExec{queue: make(chan *Task, chanExecQueue), quit: make(chan struct{})}
	for range workers {
		e.workers.Add(1)
		go e.work()
	}
	tb.Cleanup(e.stop)
	return e
}

func (e *chanExec) Schedule(t *Task) {
	select {
	case e.queue <- t:
	default:
		panic("chanExec: run queue full")
	}
}

func (e *chanExec) work() {
	defer e.workers.Done()
	for {
		select {
		case <-e.quit:
			return
		case t := <-e.queue:
			if o := t.Run(); o == Yielded || o == Exhausted {
				e.Schedule(t)
			}
		}
	}
}

func (e *chanExec) stop() {
	e.tasks.Close(errExecStopped)
	close(e.quit)
	e.workers.Wait()
}

// execSpawn spawns f on e.
func execSpawn[T any](e *chanExec, f Future[T]) *JoinHandle[T] {
	t, h := New(f, e)
	if !e.tasks.Add(t) {
		t.Shutdown(errExecStopped)
		return h
	}
	e.Schedule(t)
	return h
}

// testTimeout bounds every wait in these tests: long enough for -race on a
// loaded machine, short enough that a lost wake fails the test rather than
// hanging it.
const testTimeout = 20 * time.Second

// waitFor waits for h's result, failing the test after testTimeout.
func waitFor[T any](tb testing.TB, h *JoinHandle[T]) (T, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	v, err := h.WaitContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		tb.Fatalf("task %d did not finish within %v", h.ID(), testTimeout)
	}
	return v, err
}

// blockFor is Block bounded by testTimeout, for goroutines that wait on
// the primitives (a failure there is reported by the returned error).
func blockFor[T any](f Future[T]) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return Block(ctx, f)
}

// waitGoroutines waits, polling, until at most n goroutines are left, and
// reports whether that happened within testTimeout.
func waitGoroutines(n int) bool {
	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	return true
}

// countWaker counts its wakes; tests poll futures by hand with it.
type countWaker struct {
	mu sync.Mutex
	n  int
}

func (w *countWaker) Wake() {
	w.mu.Lock()
	w.n++
	w.mu.Unlock()
}

func (w *countWaker) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// handPoller polls futures by hand with one counting waker and a budget
// refilled before every poll, as an executor would.
type handPoller struct {
	w  *countWaker
	cx *Context
}

func newHandPoller() *handPoller {
	w := &countWaker{}
	return &handPoller{w: w, cx: NewContext(NewWaker(w))}
}

func pollOnce[T any](p *handPoller, f Future[T]) (T, bool) {
	p.cx.reset()
	return f.Poll(p.cx)
}

func TestChanExecRunsTasksAndRequeuesYielders(t *testing.T) {
	e := newChanExec(t, 2)
	var hs []*JoinHandle[int]
	for i := range 100 {
		var y Yield
		n := 0
		hs = append(hs, execSpawn(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
			for n < 3 {
				if _, ok := y.Poll(cx); !ok {
					return 0, false
				}
				n++
			}
			return i, true
		}))))
	}
	for i, h := range hs {
		v, err := waitFor(t, h)
		if err != nil || v != i {
			t.Fatalf("task %d: got %d, %v", i, v, err)
		}
	}
}
