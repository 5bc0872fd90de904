package poller

import (
	"time"

	"go.uber.org/atomic"
)

// pollLock lets many goroutines call Poll while exactly one is in the
// kernel wait and the queue drain at a time (the Sync Poll of mio 0.6).
//
// The uncontended path is one CAS in (0 -> locked) and one CAS out
// (locked -> 0): no mutex. A goroutine that finds the lock taken counts
// itself in as a waiter and blocks on signal, a condition variable with a
// timeout. Go's sync.Cond has no timed wait, so signal is a channel of one
// slot: unlock puts a token in when someone waits, a waiter takes it, or
// gives up when its timer fires first. A token nobody takes stays in the slot
// and at worst sends a later waiter round its loop once more; it is never
// lost, which is what the mutex around mio's condition variable was for, so
// no mutex is needed here. Waiters wait in FIFO order (a channel's receive
// queue). Timers are kept for reuse and stopped on the way out: no goroutine
// per wait, no leaked timer, nothing allocated per wait once the pool is warm.
type pollLock struct {
	// state:
	//	bit  0      locked: a goroutine holds the lock
	//	bits 1-63   waiters: goroutines counted in and waiting for it
	//
	// Transitions:
	//	lock, fast   0 -> locked                        (CAS)
	//	lock, slow   (unlocked, n) -> (locked, n-1)     a counted waiter takes it
	//	             (unlocked, n) -> (locked, n)       a newcomer takes it
	//	             (locked, n) -> (locked, n+1)       a newcomer counts itself in
	//	give up      (x, n) -> (x, n-1)                 a counted waiter's time ran out
	//	unlock       locked -> 0                        (CAS; nobody waits)
	//	             (locked, n) -> (unlocked, n)       then signal one waiter
	state  atomic.Uint64
	signal chan struct{}
	// timers keeps stopped timers for timed waits. A channel, not a
	// sync.Pool, so that none is ever dropped (the race detector makes a
	// Pool drop items at random, which would allocate in tests).
	timers chan *time.Timer
}

const (
	lockedBit = 1
	oneWaiter = 2
)

// spareTimers bounds the timers kept: more goroutines than this waiting with
// a timeout at once is unusual, and the extra ones only allocate.
const spareTimers = 16

func newPollLock() pollLock {
	return pollLock{signal: make(chan struct{}, 1), timers: make(chan *time.Timer, spareTimers)}
}

// lock takes the lock within timeout (negative: no limit). It returns the
// part of the timeout left for the caller's own wait, or ok false if the
// time ran out first, which for a zero timeout is at once.
func (l *pollLock) lock(timeout time.Duration) (left time.Duration, ok bool) {
	if l.state.CompareAndSwap(0, lockedBit) {
		return timeout, true
	}
	return l.lockSlow(timeout)
}

func (l *pollLock) lockSlow(timeout time.Duration) (left time.Duration, ok bool) {
	var (
		deadline time.Time
		timer    *time.Timer
		counted  bool
	)
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	defer func() {
		if timer != nil {
			timer.Stop()
			select {
			case l.timers <- timer:
			default:
			}
		}
	}()
	for {
		cur := l.state.Load()
		if cur&lockedBit == 0 {
			next := cur | lockedBit
			if counted {
				next -= oneWaiter
			}
			// (unlocked, n) -> (locked, n or n-1)
			if l.state.CompareAndSwap(cur, next) {
				if timeout > 0 {
					left = max(time.Until(deadline), 0)
				} else {
					left = timeout
				}
				return left, true
			}
			continue
		}
		if timeout == 0 || (timeout > 0 && !time.Now().Before(deadline)) {
			if counted {
				l.state.Sub(oneWaiter) // give up
			}
			return 0, false
		}
		if !counted {
			// (locked, n) -> (locked, n+1)
			if !l.state.CompareAndSwap(cur, cur+oneWaiter) {
				continue
			}
			counted = true
		}
		if timeout < 0 {
			<-l.signal
			continue
		}
		wait := time.Until(deadline)
		switch {
		case timer != nil:
			timer.Reset(wait)
		default:
			select {
			case timer = <-l.timers:
				timer.Reset(wait)
			default:
				timer = time.NewTimer(wait)
			}
		}
		select {
		case <-l.signal:
		case <-timer.C:
		}
	}
}

// unlock releases the lock and, if anyone waits, signals one of them.
func (l *pollLock) unlock() {
	if !l.state.CompareAndSwap(lockedBit, 0) { // inlined: one CAS on the way out
		l.unlockSlow()
	}
}

func (l *pollLock) unlockSlow() {
	for {
		cur := l.state.Load()
		// (locked, n) -> (unlocked, n)
		if l.state.CompareAndSwap(cur, cur&^lockedBit) {
			break
		}
	}
	select {
	case l.signal <- struct{}{}:
	default: // a token is waiting already; it will do
	}
}
