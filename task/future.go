package task

import "reflect"

// Future is a computation that finishes later. Poll advances it as far as it
// can without blocking: it returns (value, true) once, when the value is
// ready, or (zero, false) when it must wait. A future that returns false has
// arranged for cx.Waker() to be woken when polling it again could make
// progress; a future that forgets to do so is never polled again.
//
// A future is polled by one goroutine at a time, and not again after it
// returned true.
type Future[T any] interface {
	Poll(cx *Context) (T, bool)
}

// FutureFunc adapts a function to a Future. The function is called on every
// poll; state it needs between polls lives in its closure.
type FutureFunc[T any] func(cx *Context) (T, bool)

// Poll calls f.
func (f FutureFunc[T]) Poll(cx *Context) (T, bool) { return f(cx) }

// Dropper is implemented by futures that hold something that must be given
// back when the future is abandoned before it completes: a goroutine, a
// timer, a place in a wait list. Whoever abandons a future (a cancelled
// task, a Select whose other branch won) calls Drop once. Drop is not
// called on a future that completed.
type Dropper interface {
	Drop()
}

// Drop drops f if it implements Dropper. Combinators that own futures call
// it for each future they abandon.
func Drop[T any](f Future[T]) {
	if d, ok := f.(Dropper); ok {
		d.Drop()
	}
}

// Result is a task's outcome: its value, or the error that ended it.
type Result[T any] struct {
	Value T
	Err   error
}

// Waker schedules a task to be polled again. It is a small value: copy it
// freely, keep it after Poll returns, call Wake from any goroutine any number
// of times. Wake never allocates and never blocks. The zero Waker does
// nothing.
type Waker struct {
	w interface{ Wake() }
	// gen is the generation of the task w is, when it is a *Task (see
	// state.go): the memory of a detached task is reused once it completes,
	// and a Waker from before then must wake nothing, as it would had the
	// task been left to the garbage collector.
	gen uint64
}

// NewWaker returns a Waker that calls w.Wake. w should be a pointer: two
// Wakers built from the same pointer are the same Waker for WillWake.
// Executors use it for what is not a Task (a goroutine blocked in BlockOn,
// a test).
func NewWaker(w interface{ Wake() }) Waker {
	if w == nil {
		return Waker{}
	}
	if t, ok := w.(*Task); ok {
		return Waker{w: t, gen: t.state.load().gen()}
	}
	return Waker{w: w}
}

// Wake schedules the task the Waker belongs to.
func (w Waker) Wake() {
	if t, ok := w.w.(*Task); ok {
		t.wake(w.gen)
	} else if w.w != nil {
		w.w.Wake()
	}
}

// IsZero reports whether w is the zero Waker, which wakes nothing.
func (w Waker) IsZero() bool { return w.w == nil }

// WillWake reports whether w and o wake the same task, so a future that has
// o stored already need not replace it with w.
func (w Waker) WillWake(o Waker) bool {
	if w.w == nil || o.w == nil {
		return w.w == nil && o.w == nil
	}
	if a, ok := w.w.(*Task); ok {
		b, ok := o.w.(*Task)
		return ok && a == b && w.gen == o.gen
	}
	// Comparing interfaces whose dynamic type is not comparable panics.
	return reflect.TypeOf(w.w) == reflect.TypeOf(o.w) && reflect.TypeOf(w.w).Comparable() && w.w == o.w
}

// Budget is how many operations a task may perform in one poll before the
// primitives it uses start returning pending on purpose (tokio's
// cooperative budget). 128 is tokio's figure: large enough that a busy task
// rarely notices, small enough that one task on a worker cannot keep the
// others waiting for long.
const Budget = 128

// Context is what a future is polled with: the Waker of the task polling it
// and the task's cooperative budget for this poll.
//
// It holds the Waker's two fields rather than a Waker, so a task carries
// 32 bytes of it, not 40: a Waker is 24.
type Context struct {
	w      interface{ Wake() } // the Waker's
	gen    uint64              // the Waker's
	budget int32
	forced bool
	own    bool // the Context of the task w is, made with it: see Task
}

// NewContext returns a Context with waker w and a full budget, for polling
// futures outside a task (executors, tests).
func NewContext(w Waker) *Context {
	return &Context{w: w.w, gen: w.gen, budget: Budget}
}

// Waker returns the Waker of the task being polled.
func (cx *Context) Waker() Waker { return Waker{w: cx.w, gen: cx.gen} }

// Task returns the task being polled, or nil when the future is polled
// outside a task (Block, a test). Executors use it to place work spawned
// from a poll near the task that spawned it.
func (cx *Context) Task() *Task {
	if !cx.own {
		return nil // NewContext's, even of a task's Waker
	}
	return cx.w.(*Task)
}

// Proceed spends one unit of the task's budget. Primitives that can make
// progress call it first: when it returns false the budget is spent, the
// task has been woken so it runs again after the others, and the primitive
// must return pending as if it had to wait.
func (cx *Context) Proceed() bool {
	if cx.budget > 0 {
		cx.budget--
		return true
	}
	cx.forced = true
	cx.Waker().Wake()
	return false
}

// Reset gives the context a full budget, for an executor that polls with
// one Context again and again (tasks get this from Run).
func (cx *Context) Reset() { cx.reset() }

// reset gives the context a full budget for another poll.
func (cx *Context) reset() {
	cx.budget = Budget
	cx.forced = false
}
