package task

import "sync"

// A detached task is the task of `go f()`: nobody joins it, so it has no
// JoinHandle and no result, and its memory is not the spawner's to keep.
// That is what lets it be reused. A task made by New can never be: its
// memory is its JoinHandle, which the spawner may hold (and Abort, or ask
// IsFinished) for as long as it likes, even after Detach.
//
// What else could reach a detached task after it completes, and why reuse
// is safe from each:
//
//   - A Waker kept by a future (in a socket's readiness, a timer, a
//     channel). It carries the generation it was made in (state.go), and
//     reuse moves the generation on, so its wakes do nothing, as they did
//     for the complete task.
//   - A run queue. A task is in a queue only while notified, and Run
//     clears notified as it takes the task; a task that completes in Run is
//     in none. A task cancelled outside Run (Shutdown) may still be in one,
//     so only a completion in Run reuses.
//   - Its Set. Complete takes the task out; when Close took the list first
//     (and will Shutdown the task), the task is not reused.
//   - Its executor, which must not touch it once Run returns Done.

// detached is a detached task's memory: the Task, the future with its type
// erased (so one pool serves every type of future), and the function that
// polls it as what it is.
type detached struct {
	task Task
	fut  any
	as   erased // polls fut as the Future it is
}

// erased polls a future held as an any. Its implementation is a zero-size
// generic type, so storing one allocates nothing, where a generic
// function's value would be a closure over its dictionary.
type erased interface {
	poll(fut any, cx *Context) bool
}

// futureOf polls a Future[T].
type futureOf[T any] struct{}

func (futureOf[T]) poll(fut any, cx *Context) bool {
	_, ok := fut.(Future[T]).Poll(cx)
	return ok
}

// detachedPool holds the memory of detached tasks that completed, each
// reset to its next generation.
var detachedPool sync.Pool

// NewDetached makes a task of f for scheduler s whose value (or panic) is
// dropped when it completes, as a goroutine's is. It starts notified, like
// New's. Once it completes in Run its memory may serve a later
// NewDetached: the executor must not touch it after Run returns Done, and
// its Wakers wake nothing from then on.
func NewDetached[T any](f Future[T], s Scheduler) *Task {
	d, _ := detachedPool.Get().(*detached)
	if d == nil {
		d = new(detached)
		d.task.state = newStateWord(stNotified)
	}
	if f != nil {
		d.fut = f
	}
	d.as = futureOf[T]{}
	t := &d.task
	t.body = d
	t.sched = s
	t.cx.w, t.cx.gen = t, t.state.load().gen()
	return t
}

func (d *detached) poll(cx *Context) (bool, error) {
	if d.fut == nil {
		return false, ErrNilFuture
	}
	if d.as.poll(d.fut, cx) {
		d.fut = nil
		return true, nil
	}
	return false, nil
}

func (d *detached) fail(error) {
	f := d.fut
	d.fut = nil
	if dr, ok := f.(Dropper); ok {
		dropperQuietly(dr)
	}
}

// dropperQuietly drops d; a panic in its Drop is not the caller's problem.
func dropperQuietly(d Dropper) {
	defer func() { _ = recover() }()
	d.Drop()
}

func (d *detached) finish(state) {}

// reuse puts a detached task that completed in Run back in the pool, as
// the next generation of its memory. Only Run calls it, as its last act.
func (d *detached) reuse() {
	t := &d.task
	t.extra.Store(nil)
	t.hint.Store(0)
	t.inSet, t.fetched, t.joined = false, false, false
	t.set, t.prev, t.next = nil, nil, nil
	t.body, t.sched = nil, nil
	t.cx = Context{}
	d.as = nil
	t.state.reset()
	detachedPool.Put(d)
}
