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
	as   erased    // polls fut as the Future it is
	next *detached // in a Spares list, while spare
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
// reset to its next generation, for any goroutine.
var detachedPool sync.Pool

// Spares keeps the memory of completed detached tasks for one goroutine
// (an executor's thread) to reuse: a plain list, where the shared pool
// costs a pinned per-processor queue and atomic operations both ways, and
// the memory a thread frees last is the warmest in its cache. Past
// maxSpares, memory goes to the shared pool. The zero Spares is empty;
// only one goroutine may use it.
type Spares struct {
	head *detached
	n    int
}

// maxSpares bounds what one Spares holds (640 KiB of tasks, at most, for
// a busy thread): enough for a burst of thousands of short tasks. A thread
// going idle gives back all but keptSpares (Trim), so an idle thread sits
// on 40 KiB.
const (
	maxSpares  = 4096
	keptSpares = 256
)

// Trim gives the shared pool all but the keptSpares memories sp freed
// last (the warmest): for a thread about to sleep.
func (sp *Spares) Trim() {
	if sp.n <= keptSpares {
		return
	}
	last := sp.head
	for range keptSpares - 1 {
		last = last.next
	}
	d := last.next
	last.next = nil
	sp.n = keptSpares
	for d != nil {
		next := d.next
		d.next = nil
		detachedPool.Put(d)
		d = next
	}
}

// Len returns the number of task memories sp holds.
func (sp *Spares) Len() int { return sp.n }

// take returns spare memory, from sp when it has some (sp may be nil),
// else from the shared pool; nil if there is none.
func (sp *Spares) take() *detached {
	if sp != nil && sp.head != nil {
		d := sp.head
		sp.head, d.next = d.next, nil
		sp.n--
		return d
	}
	d, _ := detachedPool.Get().(*detached)
	return d
}

// keep puts reset memory in sp (may be nil), or in the shared pool.
func (sp *Spares) keep(d *detached) {
	if sp != nil && sp.n < maxSpares {
		d.next = sp.head
		sp.head = d
		sp.n++
		return
	}
	detachedPool.Put(d)
}

// NewDetached makes a task of f for scheduler s whose value (or panic) is
// dropped when it completes, as a goroutine's is. It starts notified, like
// New's. Once it completes in Run its memory may serve a later
// NewDetached: the executor must not touch it after Run returns Done, and
// its Wakers wake nothing from then on.
func NewDetached[T any](f Future[T], s Scheduler) *Task {
	return NewDetachedFrom(nil, f, s)
}

// NewDetachedFrom is NewDetached taking the memory from sp when it has
// some: for an executor's thread, with the Spares it passes to RunWith.
func NewDetachedFrom[T any](sp *Spares, f Future[T], s Scheduler) *Task {
	d := sp.take()
	if d == nil {
		d = new(detached)
		d.task.state = newStateWord(stNotified)
	}
	d.fut = f // a nil Future is a nil any: the task ends with ErrNilFuture
	d.as = futureOf[T]{}
	d.task.bind(d, s)
	return &d.task
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

// PanicReporter is a Scheduler told of the panics of its detached tasks,
// which have no handle to carry them (a runtime counts them, and hands
// them to a handler of the user's).
type PanicReporter interface {
	ReportPanic(err *PanicError)
}

func (d *detached) fail(err error) {
	if pe, ok := err.(*PanicError); ok {
		if r, ok := d.task.sched.(PanicReporter); ok {
			r.ReportPanic(pe)
		}
	}
	f := d.fut
	d.fut = nil
	dropQuietly(f)
}

func (d *detached) finish(state) {}

// reuse keeps a detached task that completed in Run, in sp or the shared
// pool, as the next generation of its memory. Only Run calls it, as its
// last act.
func (d *detached) reuse(sp *Spares) {
	t := &d.task
	if t.extra.Load() != nil { // most tasks never have one
		t.extra.Store(nil)
	}
	t.hint.Store(0)
	t.inSet, t.fetched, t.joined = false, false, false
	t.set, t.prev, t.next = nil, nil, nil
	t.body, t.sched = nil, nil
	t.cx = Context{}
	d.as = nil
	t.state.reset()
	sp.keep(d)
}
