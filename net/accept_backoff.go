package net

import (
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// This file is a Listener's pause after accept ran out of resources.
//
// accept fails with EMFILE (the process is out of descriptors), ENFILE
// (the system is), ENOBUFS or ENOMEM (the kernel is short of memory) while
// connections wait in the backlog. The condition is transient: it lasts
// until some connection closes. Trying again at once would spin, since the
// listener stays readable; handing the error to the caller makes every
// caller write the same pause. So the Listener pauses itself, as Go's net/http
// Server does around its Accept: the first retry comes 5 ms after the
// failure, each further failure doubles the pause up to 1 s, and the first
// accept that succeeds starts the next run of failures at 5 ms again. 5 ms
// lets a burst of closes free descriptors before the retry; 1 s bounds
// how long a connection can wait once one is free.
//
// Readiness during a pause. The listener's readiness is edge-triggered and
// says nothing about how many connections wait; the pause clears it, so
// that the pausing waiter can leave its waker with the I/O driver and be
// woken at once by a Close or a runtime shutdown (a new connection wakes
// it too; it goes back to its pause). Clearing readiness while
// connections wait would lose them, so the pause first sets the unsure
// bit, which makes every accept try the socket whether or not it is
// readable, until one finds the backlog empty (would-block) and clears it.
//
// A task pauses on its worker's timer wheel (the runtime's clock, paused
// or not); a goroutine blocked in Accept on a Go timer (the wall clock).

// The bounds of a pause (see above; outOfResources, per platform, names
// the errors that start one).
const (
	minAcceptPause = 5 * time.Millisecond
	maxAcceptPause = time.Second
)

// acceptBackoff is the state word task and goroutine accepters share.
//
//	bits 0-15   pause      the pause the last failure started, in ms; 0:
//	                       none since the last successful accept
//	bit  16     unsure     readiness was cleared while connections may
//	                       wait: accept whether or not readiness says so,
//	                       until accept reports would-block
//	bits 32-63  exhausted  how many accepts failed for want of resources
//	                       (wraps)
//
// Transitions, each one CAS loop: failed (pause doubles, unsure set,
// exhausted + 1), accepted (pause to 0), drained (unsure to 0), and
// unsure (set again by a pause that clears readiness). An accept that
// succeeds with the word zero touches nothing: one atomic load.
type acceptBackoff struct {
	word atomic.Uint64
}

const (
	backoffPauseMask  = 0xffff
	backoffUnsure     = 1 << 16
	backoffCountShift = 32
)

// failed records an accept that ran out of resources and returns the
// pause before the next try.
func (b *acceptBackoff) failed() time.Duration {
	for {
		cur := b.word.Load()
		ms := cur & backoffPauseMask
		next := uint64(minAcceptPause / time.Millisecond)
		if ms != 0 {
			next = min(ms*2, uint64(maxAcceptPause/time.Millisecond))
		}
		count := cur>>backoffCountShift + 1
		if b.word.CompareAndSwap(cur, count<<backoffCountShift|backoffUnsure|next) {
			return time.Duration(next) * time.Millisecond
		}
	}
}

// accepted records a successful accept: the next failure pauses 5 ms.
func (b *acceptBackoff) accepted() {
	for {
		cur := b.word.Load()
		if cur&backoffPauseMask == 0 {
			return
		}
		if b.word.CompareAndSwap(cur, cur&^backoffPauseMask) {
			return
		}
	}
}

// unsure reports whether accept must be tried without readiness.
func (b *acceptBackoff) unsure() bool { return b.word.Load()&backoffUnsure != 0 }

// setUnsure sets the unsure bit, before readiness is cleared.
func (b *acceptBackoff) setUnsure() {
	for {
		cur := b.word.Load()
		if cur&backoffUnsure != 0 || b.word.CompareAndSwap(cur, cur|backoffUnsure) {
			return
		}
	}
}

// drained records an accept that found the backlog empty.
func (b *acceptBackoff) drained() {
	for {
		cur := b.word.Load()
		if cur&backoffUnsure == 0 || b.word.CompareAndSwap(cur, cur&^backoffUnsure) {
			return
		}
	}
}

// pause returns the pause the last failure started (0: none since the
// last success).
func (b *acceptBackoff) pause() time.Duration {
	return time.Duration(b.word.Load()&backoffPauseMask) * time.Millisecond
}

// exhausted returns how many accepts have failed for want of resources.
func (b *acceptBackoff) exhausted() uint64 { return b.word.Load() >> backoffCountShift }

// watchPause is for a waiter in a pause: it leaves cx's waker with the I/O
// driver, so that a Close or a runtime shutdown wakes it, and reports
// whether either has happened. Connections that arrived meanwhile show as
// readiness, which it clears (after setting unsure, so that the retry
// looks for them anyway).
func (l *Listener) watchPause(cx *task.Context) (closed bool) {
	var last runtime.Ready
	for {
		r, ready := l.io.PollReady(cx, poller.Readable)
		if !ready {
			return false
		}
		if r.IsClosed() {
			return true
		}
		if r == last {
			// Readiness the clear cannot take away (an error condition
			// on the socket): the timer alone ends this pause.
			return false
		}
		l.bo.setUnsure()
		l.io.ClearReady(r)
		last = r
	}
}

// pollPause is a task's pause: it reports true once the pause is over, or
// the listener closed or the runtime shut down during it, and otherwise
// leaves cx to be woken by the timer or either of those.
func (l *Listener) pollPause(cx *task.Context) bool {
	if l.watchPause(cx) {
		l.pause.Drop()
		l.pausing = false
		return true
	}
	if _, over := l.pause.Poll(cx); !over {
		return false
	}
	l.pausing = false
	return true
}

// waitPause is a goroutine's pause of d, under amu: it returns when d has
// passed or the listener closed or the runtime shut down.
func (l *Listener) waitPause(d time.Duration) {
	until := time.Now().Add(d)
	for {
		left := time.Until(until)
		if left <= 0 || l.watchPause(l.aw.context()) {
			return
		}
		if l.pauseTimer == nil {
			l.pauseTimer = time.NewTimer(left)
		} else {
			l.pauseTimer.Reset(left)
		}
		select {
		case <-l.aw.ch:
			// Closed, shut down, or a connection arrived: look again.
			l.pauseTimer.Stop()
		case <-l.pauseTimer.C:
			return
		}
	}
}
