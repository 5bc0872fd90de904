package runtime

import (
	"sync"
	"time"

	"github.com/metalio/metal/task"
	"github.com/metalio/metal/timer"
	"go.uber.org/atomic"
)

// Timers live in per-worker wheels (package timer), not in one wheel behind
// one lock: the lock around tokio's single wheel is what its users measure
// when many workers start and cancel request timeouts at once (tokio issue
// 6504). A timer is registered lazily, on its future's first poll, in the
// wheel of the worker running that poll; only that worker, its owner,
// inserts into the wheel, so no two workers ever wait for one lock. The
// owner fires what is due when it parks, when it wakes, and at every
// maintenance tick, and parks no longer than its next deadline.
//
// The wheel has a mutex all the same, for one case: a worker that stops
// looking at its clock while awake (a task blocking it inside a poll, or Go
// descheduling its goroutine for a time slice) would hold every timer in
// its wheel back. Another worker that notices (rescue.go) takes the lock
// with TryLock and fires what is due for it. The owner takes the lock for
// each wheel operation and lets it go at once, never across a poll, so a
// worker stuck anywhere in a task's poll never holds it; uncontended, the
// pair costs the owner about 10 ns per arming.
//
// A timer can be cancelled from any goroutine (its task was stolen by
// another worker, or aborted from outside): the canceller marks the entry
// cancelled and pushes it on its owner's cancel stack, a lock-free stack
// the owner empties into wheel removals the next time it looks at its
// timers. So cancelling is one CAS and one push, the entry leaves the wheel
// within one maintenance interval instead of at its deadline (cancelled
// request timeouts do not pile up), and workers never wait on each other's
// timers. A cancelled entry re-armed on its owner (the common case: a task
// resets its own request timeout) is taken off the stack at once and
// reused; re-armed on another worker, it is left to its owner and a new
// entry is used.

// entryState is the value of a timer entry's state word.
//
//	entryIdle        not in any wheel: new, fired and collected, or
//	                 cancelled and removed by its owner
//	entryRegistered  in its owner's wheel
//	entryFired       its owner took it out and woke its waker
//	entryCancelled   cancelled while registered: on its owner's cancel
//	                 stack, still linked until the owner removes it
//
// Only the holder of the owner's wheel lock (the owner, or a worker
// rescuing its timers) moves registered -> fired and cancelled -> idle;
// only a canceller moves registered -> cancelled. So exactly one of fire and
// cancel wins an entry, and a cancelled entry is pushed once.
const (
	entryIdle uint32 = iota
	entryRegistered
	entryFired
	entryCancelled
)

type timerEntry struct {
	node  timer.Entry[*timerEntry]
	state atomic.Uint32
	owner *worker     // the worker whose wheel it is in; set before registered
	next  *timerEntry // link in the owner's cancel stack

	mu    sync.Mutex
	waker task.Waker // woken when the entry fires; updated by each poll
}

// lockWheel takes w's wheel lock, on the owner's goroutine. A runtime of
// one worker has nobody to rescue its timers (rescue.go), so its worker
// skips the lock: the pair is a tenth of the cost of arming a timeout.
func (w *worker) lockWheel() {
	if w.watched {
		w.wheelMu.Lock()
	}
}

// unlockWheel lets lockWheel's lock go.
func (w *worker) unlockWheel() {
	if w.watched {
		w.wheelMu.Unlock()
	}
}

// arm puts te in w's wheel at deadline, on w's goroutine, in the poll of
// the future that owns te, and makes wk the waker it wakes. It reports
// false, doing nothing, when te cannot be used now: it is still in another
// worker's wheel, cancelled, and only that worker may take it out. One
// acquisition of the wheel lock covers taking out the entries cancelled on
// w's stack (te among them, when a task re-arms its own timeout) and the
// insert.
func (te *timerEntry) arm(w *worker, deadline uint64, wk task.Waker) bool {
	st := te.state.Load()
	switch {
	case st == entryRegistered:
		return false
	case st == entryCancelled && te.owner != w:
		return false
	}
	// The waker is written under te.mu: the worker that last fired te may
	// still be reading the old one (fireDue), after te already reads as
	// fired and the task that owns it has armed it again. Only the entry's
	// user (this poll, or an earlier poll of the same future) writes the
	// waker, so reading it here needs no lock; a re-arm by the same task
	// skips the write.
	if !te.waker.WillWake(wk) {
		te.mu.Lock()
		te.waker = wk
		te.mu.Unlock()
	}
	w.lockWheel()
	if st == entryCancelled {
		w.removeCancelled() // te is on w's stack: this takes it out
	}
	te.node.Value = te
	te.owner = w
	te.state.Store(entryRegistered)
	w.wheel.Insert(&te.node, deadline)
	w.armed = w.wheel.Len()
	w.unlockWheel()
	return true
}

// fired reports whether te has fired; if it is still waiting it takes wk
// as the waker to wake.
func (te *timerEntry) fired(wk task.Waker) bool {
	switch te.state.Load() {
	case entryFired:
		return true
	case entryRegistered:
		te.mu.Lock()
		if !te.waker.WillWake(wk) {
			te.waker = wk
		}
		te.mu.Unlock()
		// It may have fired before the waker was in place.
		return te.state.Load() == entryFired
	}
	return false
}

// cancel takes te out of its wheel, soon: from any goroutine.
func (te *timerEntry) cancel() {
	if !te.state.CompareAndSwap(entryRegistered, entryCancelled) {
		return
	}
	w := te.owner
	for {
		head := w.cancels.Load()
		te.next = head
		if w.cancels.CompareAndSwap(head, te) {
			break
		}
	}
	if w.parked.Load() {
		// A parked owner would hold the entry until its deadline (an
		// hour, for a request timeout that was not needed): let it take
		// the entry out now.
		w.parker.unpark(w.rt.driver)
	}
}

// removeCancelled takes the entries cancelled since the last call out of
// the wheel. The wheel lock is held.
func (w *worker) removeCancelled() {
	if w.cancels.Load() == nil {
		return
	}
	for te := w.cancels.Swap(nil); te != nil; {
		next := te.next
		te.next = nil
		w.wheel.Remove(&te.node)
		te.state.Store(entryIdle)
		te = next
	}
}

// maxTimerMoves bounds the entries one processTimers moves between the
// wheel's levels. Emptying a crowded slot of a higher level (10,000
// request timeouts due in the same 64 ms) moves every entry in it, at a
// cache miss each: milliseconds that every timer due meanwhile, and every
// task on this worker, would wait for. Spread over calls (every 8 polls),
// the worker runs tasks in between, one poll between calls while it is
// behind.
const maxTimerMoves = 256

// processTimers removes cancelled timers and fires the ones due, on the
// owner's goroutine, between polls. It returns how many fired.
func (w *worker) processTimers() int {
	if w.armed == 0 {
		return 0 // armed is never below the wheel's length (see worker)
	}
	now := w.rt.clock.nowTick()
	w.heartbeat(now)
	w.lockWheel()
	n, behind := w.fireDue(now)
	w.armed = w.wheel.Len()
	w.unlockWheel()
	// A crowded slot is being emptied: look again at the next tick, not
	// the eighth, so that the entries due first in it are not held back
	// for hundreds of polls.
	w.timersBehind = behind
	w.counters.timersFired += uint64(n)
	return n
}

// fireDue removes w's cancelled timers and fires the ones due at now, with
// w's wheel lock held (by w, or by a worker rescuing w's timers). It
// returns how many fired and whether it stopped at the move budget.
func (w *worker) fireDue(now uint64) (n int, behind bool) {
	w.removeCancelled()
	if w.wheel.Len() == 0 {
		return 0, false
	}
	moves := maxTimerMoves
	for e := w.wheel.PollN(now, &moves); e != nil; e = w.wheel.PollN(now, &moves) {
		te := e.Value
		if te.state.CompareAndSwap(entryRegistered, entryFired) {
			te.mu.Lock()
			wk := te.waker
			te.mu.Unlock()
			wk.Wake()
			n++
		}
	}
	return n, moves <= 0
}

// timerTimeout is how long the worker may park before its next timer is
// due (<0: no timer).
func (w *worker) timerTimeout() time.Duration {
	if w.armed == 0 {
		return -1
	}
	w.lockWheel()
	next, ok := w.wheel.NextExpiration()
	w.unlockWheel()
	if !ok {
		return -1
	}
	return w.rt.clock.until(next)
}

// currentWorker returns the worker of rt polling the task cx belongs to,
// when cx is the Context of a poll under way on one of rt's workers; nil
// otherwise (a blocking task, a future polled by task.Block).
func currentWorker(cx *task.Context) *worker {
	t := cx.Task()
	if t == nil {
		return nil
	}
	s, ok := t.Scheduler().(*scheduler)
	if !ok {
		return nil
	}
	h := t.Hint()
	if h == 0 || int(h) > len(s.rt.workers) {
		return nil
	}
	if w := s.rt.workers[h-1]; w.current == t {
		return w
	}
	return nil
}
