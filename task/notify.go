package task

import (
	"sync"

	"go.uber.org/atomic"
)

// Notify wakes tasks waiting for an event that carries no data: "there is
// work", "the state changed". NotifyOne wakes one waiter, or, when nobody
// waits, leaves a permit that the next wait consumes at once, so a
// notification sent just before a task starts waiting is not lost.
// NotifyAll wakes every current waiter and leaves no permit.
//
// The usual loop checks the condition, and waits when it does not hold:
//
//	f := n.Notified() // before the check, so a NotifyAll in between counts
//	for !ready() { Await(co, f) }
//
// The zero Notify is ready to use. A Notify must not be copied after first
// use.
type Notify struct {
	mu      sync.Mutex
	permit  bool // a NotifyOne found nobody waiting
	waiters waitList[struct{}]
	// calls counts NotifyAll calls. It is written under mu and read
	// without it by Notified, which needs only a recent value: a NotifyAll
	// it misses happened before the future existed.
	calls atomic.Uint64
}

// NotifyOne wakes the waiter that has waited longest, or stores a permit
// if nobody waits (a second NotifyOne before it is consumed adds nothing).
func (n *Notify) NotifyOne() {
	n.mu.Lock()
	n.notifyOneLocked().Wake()
}

// notifyOneLocked grants the first waiter, or stores the permit; it
// unlocks and returns the waker to wake.
func (n *Notify) notifyOneLocked() Waker {
	var wk Waker
	if w := n.waiters.front(); w != nil {
		wk = n.waiters.remove(w, waitGranted)
	} else {
		n.permit = true
	}
	n.mu.Unlock()
	return wk
}

// NotifyAll wakes every task waiting now, including the futures made by
// Notified before this call that have not been polled yet. It stores no
// permit: a wait that begins after it waits for the next notification.
func (n *Notify) NotifyAll() {
	n.mu.Lock()
	call := n.calls.Load() + 1
	n.calls.Store(call)
	for {
		// Waiters queued after this call have gen == call and stay; the
		// list is in arrival order, so they are all behind the ones woken.
		var b wakeBatch
		w := n.waiters.front()
		for ; w != nil && w.gen < call && !b.full(); w = n.waiters.front() {
			b.add(n.waiters.remove(w, waitBroadcast))
		}
		more := w != nil && w.gen < call
		n.mu.Unlock()
		b.wake()
		if !more {
			return
		}
		n.mu.Lock()
	}
}

// Notified returns a future that is ready at the next notification: a
// permit left by NotifyOne, a NotifyOne while it waits, or a NotifyAll
// after this call. Poll it again once it is ready to wait for the next
// one: a loop that keeps one NotifiedFuture waits without allocating.
func (n *Notify) Notified() *NotifiedFuture {
	f := &NotifiedFuture{n: n}
	f.w.gen = n.calls.Load()
	return f
}

// NotifiedFuture is a wait for a Notify, made by Notified. Do not copy it
// once it has been polled: the Notify holds its address while it waits.
// Dropping it while it waits leaves the queue; dropping it after a
// NotifyOne chose it, but before it was polled, passes that notification
// on to the next waiter (or leaves it as the permit).
type NotifiedFuture struct {
	n *Notify
	w waiter[struct{}] // w.gen: NotifyAll calls when the wait began
}

// Poll is ready once the future is notified.
func (f *NotifiedFuture) Poll(cx *Context) (struct{}, bool) {
	n := f.n
	n.mu.Lock()
	switch f.w.state {
	case waitQueued:
		f.w.rewake(cx.Waker())
		n.mu.Unlock()
		return struct{}{}, false
	case waitGranted, waitBroadcast:
	default: // waitIdle
		if n.calls.Load() == f.w.gen && !n.permit {
			n.waiters.pushBack(&f.w, cx.Waker())
			n.mu.Unlock()
			return struct{}{}, false
		}
	}
	if !cx.budgetLeft() {
		n.mu.Unlock()
		cx.Proceed()
		return struct{}{}, false
	}
	cx.Proceed() // budget left: this only counts
	if f.w.state == waitIdle && n.calls.Load() == f.w.gen {
		n.permit = false // it came for the permit
	}
	f.w.state = waitIdle
	f.w.gen = n.calls.Load() // a reused future waits for what comes next
	n.mu.Unlock()
	return struct{}{}, true
}

// Drop leaves the queue, passing on a NotifyOne that chose this future.
func (f *NotifiedFuture) Drop() {
	n := f.n
	n.mu.Lock()
	switch f.w.state {
	case waitQueued:
		n.waiters.remove(&f.w, waitIdle)
	case waitGranted:
		f.w.state = waitIdle
		n.notifyOneLocked().Wake()
		return
	}
	f.w.state = waitIdle
	n.mu.Unlock()
}
