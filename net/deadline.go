package net

import (
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// deadline is one direction (reading or writing) of a socket's deadline,
// as net.Conn's SetReadDeadline and SetWriteDeadline set it, and the means
// to wait for it: a timer on the runtime's wheel for a task, a Go timer
// for a goroutine blocked in the net.Conn methods.
//
// at is the only field several goroutines touch: Set*Deadline stores it
// from any goroutine, and the one waiter of its direction reads it. The
// rest belongs to that waiter (the direction's lock or its one task
// guarantees there is one).
type deadline struct {
	// at is the deadline in Unix nanoseconds; 0: none.
	at atomic.Int64

	// sleep is armed, for a task, at armed (Unix ns; 0: not armed). A
	// deadline moved later leaves it armed at the old time: when it fires
	// the waiter finds the deadline not reached and arms it again, so a
	// deadline pushed forward on every read (an idle timeout) costs no
	// timer work per read. It is made the first time a task waits with
	// a deadline set and reused after: a connection that never has one
	// does not carry a timer (most of a SleepFuture's size).
	sleep *runtime.SleepFuture
	armed int64

	// timer is the goroutine side's, made on first use and reused.
	timer *time.Timer
}

// set sets the deadline; the zero time clears it.
func (d *deadline) set(t time.Time) {
	if t.IsZero() {
		d.at.Store(0)
		return
	}
	ns := t.UnixNano()
	if ns == 0 {
		ns = -1 // the epoch itself is a deadline long past, not "none"
	}
	d.at.Store(ns)
}

// passed reports whether the deadline is set and the runtime's clock (a
// task's view) is at or after it. With no deadline it reads no clock.
func (d *deadline) passed(rt *runtime.Runtime) bool {
	at := d.at.Load()
	return at != 0 && rt.Now().UnixNano() >= at
}

// passedWall is passed on the wall clock, a goroutine's view.
func (d *deadline) passedWall() bool {
	at := d.at.Load()
	return at != 0 && time.Now().UnixNano() >= at
}

// pollTask is for a task about to wait: it reports whether the deadline
// has passed, and otherwise makes sure the task is woken when it does.
// Time is the runtime's clock (which tests may pause).
func (d *deadline) pollTask(cx *task.Context, rt *runtime.Runtime) bool {
	if d.at.Load() == 0 {
		return false
	}
	now := rt.Now()
	for {
		at := d.at.Load()
		if at == 0 {
			return false
		}
		if now.UnixNano() >= at {
			return true
		}
		if d.sleep == nil {
			d.sleep = new(runtime.SleepFuture)
		}
		if d.armed == 0 || d.armed > at {
			d.sleep.ResetUntil(time.Unix(0, at))
			d.armed = at
		}
		if _, fired := d.sleep.Poll(cx); !fired {
			return false
		}
		// The timer rang at the armed time; if the deadline has moved on
		// since, arm it again for the new one.
		d.armed = 0
		now = rt.Now()
		if at := d.at.Load(); at != 0 && now.UnixNano() >= at {
			return true
		}
	}
}

// wait blocks a goroutine until wake receives or the deadline passes.
func (d *deadline) wait(wake <-chan struct{}) {
	at := d.at.Load()
	if at == 0 {
		<-wake
		return
	}
	left := time.Until(time.Unix(0, at))
	if left <= 0 {
		return
	}
	if d.timer == nil {
		d.timer = time.NewTimer(left)
	} else {
		d.timer.Reset(left)
	}
	select {
	case <-wake:
		d.timer.Stop()
	case <-d.timer.C:
	}
}

// goWaiter is the Waker of a goroutine blocked in a net.Conn method: a
// channel of one that a wake fills if it is empty.
type goWaiter struct {
	ch chan struct{}
	cx *task.Context
}

func (w *goWaiter) Wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// context returns the waiter's Context with a full budget, making it on
// first use.
func (w *goWaiter) context() *task.Context {
	if w.cx == nil {
		w.ch = make(chan struct{}, 1)
		w.cx = task.NewContext(task.NewWaker(w))
	}
	w.cx.Reset()
	return w.cx
}
