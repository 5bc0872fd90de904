package task

import "errors"

// The task-aware primitives (Oneshot, Chan, Notify, Semaphore, Mutex) park
// a task, never a goroutine: an operation that has to wait is a future, and
// waiting means leaving the task's Waker where the other side will find it.
// They share what is in this file:
//
//   - A waiter is one waiting future's place in its primitive's wait list.
//     It lives inside the future, so waiting allocates nothing once the
//     future exists, and a future that is polled again after it completed
//     waits again in the same memory. The list is intrusive and doubly
//     linked, so a future that gives up (Drop) leaves it in O(1).
//   - Each primitive guards its list with one sync.Mutex. Wakers are
//     called after it is released, at most wakeBatchSize at a time, so a
//     Waker that does something unexpected never runs under the lock.
//   - A waiter that is taken off the list is told why (granted, broadcast,
//     closed) in its state, and only its own future moves it back to idle.
//     A future dropped while granted gives back what it was granted, so a
//     permit or a notification is never lost with it.
//   - Every Poll that returns ready spends one unit of the task's
//     cooperative budget (Context.Proceed). With no budget left it returns
//     pending instead, and leaves the operation as it was.

// ErrClosed is the error of an operation on a Oneshot or a Chan that was
// closed: a receive after the sender closed (and, for a Chan, after the
// buffered values were received), a send after either side closed.
var ErrClosed = errors.New("task: closed")

// ErrFull is TrySend's error when the channel has no room.
var ErrFull = errors.New("task: full")

// ErrEmpty is TryRecv's error when there is nothing to receive yet.
var ErrEmpty = errors.New("task: empty")

// waitState says where a waiter is. Only the primitive, holding its lock,
// moves a waiter out of waitQueued; only the waiter's own future moves it
// back to waitIdle.
type waitState uint8

const (
	waitIdle      waitState = iota // in no list and owed nothing
	waitQueued                     // in its primitive's wait list
	waitGranted                    // off the list, given what it waited for, not yet consumed
	waitBroadcast                  // off the list, woken by a NotifyAll
	waitClosed                     // off the list because the primitive closed
)

// waiter is a future's place in a wait list. Every field is guarded by the
// primitive's lock, except that the future may touch val, n and gen while
// the waiter is idle.
type waiter[V any] struct {
	prev, next *waiter[V]
	waker      Waker
	state      waitState
	n          int    // Semaphore: the permits wanted
	gen        uint64 // Notify: the NotifyAll count when the wait began
	val        V      // Chan: the value to send
}

// waitList is a FIFO of waiters, linked through the waiters themselves.
type waitList[V any] struct {
	head, tail *waiter[V]
}

func (l *waitList[V]) front() *waiter[V] { return l.head }

// pushBack queues w, which must be in no list, with waker wk.
func (l *waitList[V]) pushBack(w *waiter[V], wk Waker) {
	w.waker = wk
	w.state = waitQueued
	w.next = nil
	w.prev = l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
}

// remove unlinks w, which must be in l, and sets its state to st. It
// returns w's waker, which it clears.
func (l *waitList[V]) remove(w *waiter[V], st waitState) Waker {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	w.state = st
	wk := w.waker
	w.waker = Waker{}
	return wk
}

// rewake makes a queued waiter wake wk from now on (a task may be polled
// with another Waker than last time).
func (w *waiter[V]) rewake(wk Waker) {
	if !w.waker.WillWake(wk) {
		w.waker = wk
	}
}

// wakeBatchSize bounds how many wakers a primitive collects under its lock
// before it releases the lock to call them: enough that a NotifyAll or a
// large Release rarely needs a second round, small enough to live on the
// stack.
const wakeBatchSize = 32

// wakeBatch collects wakers under a lock, to be called after it.
type wakeBatch struct {
	n  int
	ws [wakeBatchSize]Waker
}

func (b *wakeBatch) full() bool { return b.n == len(b.ws) }

func (b *wakeBatch) add(w Waker) {
	b.ws[b.n] = w
	b.n++
}

// wake calls every collected waker and empties the batch.
func (b *wakeBatch) wake() {
	for i := 0; i < b.n; i++ {
		w := b.ws[i]
		b.ws[i] = Waker{}
		w.Wake()
	}
	b.n = 0
}

// budgetLeft reports whether cx can pay for one more operation, without
// spending it. A primitive holding its lock checks it before committing an
// operation: with budget left it calls Proceed at once (which then only
// counts); without, it unlocks first and then calls Proceed, so the wake
// that comes with a spent budget never runs under the lock. Only the
// goroutine polling with cx touches its budget, so it cannot change in
// between.
func (cx *Context) budgetLeft() bool { return cx.budget > 0 }
