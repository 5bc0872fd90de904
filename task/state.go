package task

import "go.uber.org/atomic"

// This file is nothing but a task's state word: its layout and every
// transition made on it, each one CAS loop that names what it does. The code
// that drives the transitions (Run, Wake, Abort, the JoinHandle) is in
// task.go and join.go.

// state is one snapshot of a task's state word.
//
//	bit 0  running        one runner owns the future and is polling it (or
//	                      cancelling it); nobody else may touch the future
//	bit 1  complete       the result is written; the future is gone
//	bit 2  notified       the task is in a run queue, or its runner will put
//	                      it back in one when the poll ends
//	bit 3  cancelled      Abort or Shutdown asked the task to end; the next
//	                      runner cancels it instead of polling it
//	bit 4  join interest  a JoinHandle still wants the result
//	bit 5  join waker     the join waker field holds a waker; while set, the
//	                      field belongs to the task (it reads it when it
//	                      completes), while clear it belongs to the handle
//	bits 6-7              always zero
//	bits 8-63 generation  how many times the task's memory has been reused
//	                      (a detached task, NewDetached); a Waker carries the
//	                      generation it was made in, and a wake whose
//	                      generation is not the word's does nothing. Every
//	                      transition keeps it; only reuse (reset) moves it.
//	                      56 bits: one memory reused every 100 ns would
//	                      take two centuries to come round to a generation
//	                      a stale Waker still holds.
//
// A task starts notified (its spawner queues it once) with join interest.
//
// Who moves what:
//
//	a runner      running 0->1 (toRunning), running 1->0 (toIdle), complete 0->1
//	Wake          notified 0->1; submits the task only when it was idle
//	Abort         cancelled 0->1 (and notified, to get an idle task run)
//	Shutdown      cancelled 0->1; running 0->1 when the task is idle, so the
//	              caller owns it and cancels it directly
//	JoinHandle    join interest 1->0, join waker 0->1 and 1->0 (not after complete)
//
// The notified bit is a run queue's ticket: only a transition that sets it
// while the task is neither running nor complete submits the task, so a task
// is in at most one queue, and never polled by two runners at once.
type state uint64

const (
	stRunning      state = 1 << 0
	stComplete     state = 1 << 1
	stNotified     state = 1 << 2
	stCancelled    state = 1 << 3
	stJoinInterest state = 1 << 4
	stJoinWaker    state = 1 << 5

	stInitial = stNotified | stJoinInterest

	genShift = 8
)

// gen is the generation of the task's memory (bits 8-63).
func (s state) gen() uint64 { return uint64(s >> genShift) }

func (s state) isRunning() bool       { return s&stRunning != 0 }
func (s state) isComplete() bool      { return s&stComplete != 0 }
func (s state) isNotified() bool      { return s&stNotified != 0 }
func (s state) isCancelled() bool     { return s&stCancelled != 0 }
func (s state) hasJoinInterest() bool { return s&stJoinInterest != 0 }
func (s state) hasJoinWaker() bool    { return s&stJoinWaker != 0 }

// isIdle: nobody owns the future (not running) and it still exists.
func (s state) isIdle() bool { return s&(stRunning|stComplete) == 0 }

// stateWord is the atomic word holding a state.
type stateWord struct{ v atomic.Uint64 }

func newStateWord(s state) stateWord {
	var w stateWord
	w.v.Store(uint64(s))
	return w
}

func (w *stateWord) load() state { return state(w.v.Load()) }

func (w *stateWord) cas(old, new state) bool {
	return w.v.CompareAndSwap(uint64(old), uint64(new))
}

// runResult says what toRunning found.
type runResult uint8

const (
	runOK        runResult = iota // the caller owns the future: poll it
	runCancelled                  // the caller owns the future: cancel it
	runFailed                     // running or complete already: a stale queue entry; do nothing
)

// toRunning is made by a runner that took the task from a run queue.
func (w *stateWord) toRunning() runResult {
	for {
		cur := w.load()
		if !cur.isIdle() {
			return runFailed
		}
		next := (cur | stRunning) &^ stNotified
		if w.cas(cur, next) {
			if cur.isCancelled() {
				return runCancelled
			}
			return runOK
		}
	}
}

// idleResult says what toIdle found.
type idleResult uint8

const (
	idleOK        idleResult = iota // parked until a wake
	idleNotified                    // woken during the poll: queue it again
	idleCancelled                   // cancelled during the poll: the caller still owns it and cancels it
)

// toIdle is made by the runner after a poll that returned pending.
func (w *stateWord) toIdle() idleResult {
	for {
		cur := w.load()
		if cur.isCancelled() {
			return idleCancelled
		}
		next := cur &^ stRunning
		if w.cas(cur, next) {
			if cur.isNotified() {
				return idleNotified
			}
			return idleOK
		}
	}
}

// toComplete is made by the runner once the result is written. It returns
// the state it left, so the runner can tell whether to wake a join waker.
func (w *stateWord) toComplete() state {
	for {
		cur := w.load()
		next := (cur | stComplete) &^ (stRunning | stNotified)
		if w.cas(cur, next) {
			return next
		}
	}
}

// toNotified is made by a wake of generation gen. It reports whether the
// caller must submit the task to its scheduler. A wake from an earlier
// generation (a Waker that outlived the task whose memory this now is) does
// nothing.
func (w *stateWord) toNotified(gen uint64) (submit bool) {
	for {
		cur := w.load()
		if cur.isComplete() || cur.isNotified() || cur.gen() != gen {
			return false
		}
		if w.cas(cur, cur|stNotified) {
			return !cur.isRunning()
		}
	}
}

// toNotifiedAndCancelled is made by Abort. It reports whether the caller
// must submit the task so a runner cancels it.
func (w *stateWord) toNotifiedAndCancelled() (submit bool) {
	for {
		cur := w.load()
		switch {
		case cur.isComplete() || cur.isCancelled():
			return false
		case cur.isRunning():
			// The runner sees cancelled when the poll ends.
			if w.cas(cur, cur|stCancelled|stNotified) {
				return false
			}
		case cur.isNotified():
			// Queued already: the runner that takes it cancels it.
			if w.cas(cur, cur|stCancelled) {
				return false
			}
		default:
			if w.cas(cur, cur|stCancelled|stNotified) {
				return true
			}
		}
	}
}

// toShutdown is made by a scheduler shutting down. It reports whether the
// caller now owns the future (the task was idle, queued or not) and must
// cancel it; otherwise a runner has it and cancels it after its poll, or
// it is complete.
func (w *stateWord) toShutdown() (owned bool) {
	for {
		cur := w.load()
		next := cur | stCancelled
		if cur.isIdle() {
			next |= stRunning
		}
		if w.cas(cur, next) {
			return cur.isIdle()
		}
	}
}

// reset starts the next generation of a complete task whose memory is
// reused: the initial state, without join interest (nobody joins a
// detached task), one generation on. The caller owns the task and nobody
// else may move the word but stale wakers, which the new generation turns
// away.
func (w *stateWord) reset() state {
	next := state((w.load().gen()+1)<<genShift) | stNotified
	w.v.Store(uint64(next))
	return next
}

// dropJoinInterest is made by a JoinHandle that detaches. It reports
// whether the task was complete already.
func (w *stateWord) dropJoinInterest() (complete bool) {
	for {
		cur := w.load()
		if w.cas(cur, cur&^(stJoinInterest|stJoinWaker)) {
			return cur.isComplete()
		}
	}
}

// setJoinWaker publishes the join waker field, written just before. It
// fails (false) when the task completed meanwhile: the handle then reads
// the result instead of waiting.
func (w *stateWord) setJoinWaker() bool {
	for {
		cur := w.load()
		if cur.isComplete() {
			return false
		}
		if w.cas(cur, cur|stJoinWaker) {
			return true
		}
	}
}

// unsetJoinWaker takes the join waker field back, so the handle can
// replace it. It fails (false) when the task completed meanwhile: the task
// owns the field then, and the handle reads the result.
func (w *stateWord) unsetJoinWaker() bool {
	for {
		cur := w.load()
		if cur.isComplete() {
			return false
		}
		if w.cas(cur, cur&^stJoinWaker) {
			return true
		}
	}
}
