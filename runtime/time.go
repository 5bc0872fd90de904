package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// ErrTimeout is the error of a Timeout whose time ran out. It matches
// context.DeadlineExceeded with errors.Is.
var ErrTimeout = fmt.Errorf("runtime: timeout: %w", context.DeadlineExceeded)

// Sleep returns a future that completes d after it is first polled. Polled
// by a task of a runtime, it waits on that runtime's timer wheel (and its
// clock, paused or not); polled anywhere else (task.Block, a blocking
// task), it falls back on a Go timer. Dropping it before it completes
// cancels the timer. A d of zero or less completes at once.
func Sleep(d time.Duration) task.Future[struct{}] {
	return &SleepFuture{d: d}
}

// SleepUntil returns a future that completes at t, on the clock of the
// runtime that polls it.
func SleepUntil(t time.Time) task.Future[struct{}] {
	return &SleepFuture{until: t, absolute: true}
}

// SleepFuture is the future Sleep and SleepUntil return. Embed one in a
// hand-written future to sleep without an allocation per sleep; Reset arms
// it again.
type SleepFuture struct {
	d        time.Duration
	until    time.Time
	absolute bool

	state sleepState
	entry *timerEntry // the entry in use: own, or a spare (see timers.go)
	own   timerEntry
	// fallback: outside a runtime, a Go timer and the flag it sets.
	fallback *time.Timer
	fell     atomic.Bool
	fellWake atomic.Pointer[task.Waker]
}

type sleepState uint8

const (
	sleepNew      sleepState = iota // not polled yet
	sleepWheel                      // registered in a worker's wheel
	sleepFallback                   // waiting on a Go timer
	sleepDone                       // completed
)

// Reset makes s a new sleep of d, dropping the one under way.
func (s *SleepFuture) Reset(d time.Duration) {
	s.Drop()
	s.d, s.absolute = d, false
	s.state = sleepNew
	s.clearFell()
}

// ResetUntil makes s a new sleep until t, dropping the one under way.
func (s *SleepFuture) ResetUntil(t time.Time) {
	s.Drop()
	s.until, s.absolute = t, true
	s.state = sleepNew
	s.clearFell()
}

// clearFell forgets a fallback timer's firing. The store is a full fence
// on most machines, and Reset is on the request-timeout path: skip it when
// there is nothing to clear.
func (s *SleepFuture) clearFell() {
	if s.fell.Load() {
		s.fell.Store(false)
	}
}

// Poll completes once the sleep is over.
func (s *SleepFuture) Poll(cx *task.Context) (struct{}, bool) {
	switch s.state {
	case sleepDone:
		return struct{}{}, true
	case sleepWheel:
		if s.entry.fired(cx.Waker()) {
			s.state = sleepDone
			return struct{}{}, true
		}
		return struct{}{}, false
	case sleepFallback:
		wk := cx.Waker()
		s.fellWake.Store(&wk)
		if s.fell.Load() {
			s.state = sleepDone
			return struct{}{}, true
		}
		return struct{}{}, false
	}
	// First poll: register.
	if w := currentWorker(cx); w != nil {
		c := w.rt.clock
		now := c.elapsed()
		deadline := ceilTick(now + max(s.d, 0))
		if s.absolute {
			deadline = c.tickAt(s.until)
		}
		if deadline <= uint64(now/time.Millisecond) {
			s.state = sleepDone
			return struct{}{}, true
		}
		if s.entry == nil {
			s.entry = &s.own
		}
		if !s.entry.arm(w, deadline, cx.Waker()) {
			// Still in another worker's wheel, cancelled: leave it to
			// that worker and arm a new one.
			s.entry = new(timerEntry)
			s.entry.arm(w, deadline, cx.Waker())
		}
		s.state = sleepWheel
		return struct{}{}, false
	}
	d := s.d
	if s.absolute {
		d = time.Until(s.until)
	}
	if d <= 0 {
		s.state = sleepDone
		return struct{}{}, true
	}
	wk := cx.Waker()
	s.fellWake.Store(&wk)
	s.state = sleepFallback
	s.fallback = time.AfterFunc(d, func() {
		s.fell.Store(true)
		s.fellWake.Load().Wake()
	})
	return struct{}{}, false
}

// Drop cancels the timer of a sleep that has not completed.
func (s *SleepFuture) Drop() {
	switch s.state {
	case sleepWheel:
		s.entry.cancel()
	case sleepFallback:
		s.fallback.Stop()
	}
}

// Timeout returns a future of f's result that gives up d after its first
// poll: its Err is then ErrTimeout (errors.Is context.DeadlineExceeded) and
// f is dropped. When f completes first, the timer is cancelled.
func Timeout[T any](d time.Duration, f task.Future[T]) task.Future[task.Result[T]] {
	return &timeoutFuture[T]{f: f, sleep: SleepFuture{d: d}}
}

type timeoutFuture[T any] struct {
	f     task.Future[T]
	sleep SleepFuture
	done  bool
}

func (t *timeoutFuture[T]) Poll(cx *task.Context) (task.Result[T], bool) {
	if t.done {
		return task.Result[T]{Err: ErrTimeout}, true
	}
	if t.f == nil {
		t.done = true
		return task.Result[T]{Err: task.ErrNilFuture}, true
	}
	if v, ok := t.f.Poll(cx); ok {
		t.sleep.Drop()
		t.done = true
		return task.Result[T]{Value: v}, true
	}
	if _, ok := t.sleep.Poll(cx); ok {
		task.Drop(t.f)
		t.done = true
		return task.Result[T]{Err: ErrTimeout}, true
	}
	return task.Result[T]{}, false
}

// Drop drops f and cancels the timer.
func (t *timeoutFuture[T]) Drop() {
	if !t.done {
		t.done = true
		if t.f != nil {
			task.Drop(t.f)
		}
		t.sleep.Drop()
	}
}

// MissedTicks says what an Interval does when ticks were missed because
// nobody polled it in time (tokio's MissedTickBehavior).
type MissedTicks uint8

const (
	// Burst fires the missed ticks one after another as fast as they are
	// polled, then goes on at the original schedule.
	Burst MissedTicks = iota
	// Delay fires one tick now and schedules the next a full period after
	// it: the schedule shifts.
	Delay
	// Skip fires one tick now and goes on at the next tick of the original
	// schedule, dropping the ones missed.
	Skip
)

// Interval ticks every period, on the clock of the runtime that polls it.
// It is a Future that can be polled again after each tick: each completion
// is one tick, giving the time it was scheduled for. The first tick is
// immediate.
type Interval struct {
	period time.Duration
	missed MissedTicks
	next   uint64 // the tick of the next scheduled tick; 0 until the first poll
	sleep  SleepFuture
	armed  bool
	clock  *clock
}

// NewInterval returns an Interval of period (at least 1 ms) that handles
// missed ticks as missed says.
func NewInterval(period time.Duration, missed MissedTicks) *Interval {
	return &Interval{period: max(period, time.Millisecond), missed: missed}
}

// Poll completes at the next tick with the time it was scheduled for.
func (iv *Interval) Poll(cx *task.Context) (time.Time, bool) {
	w := currentWorker(cx)
	if iv.clock == nil {
		if w == nil {
			// Outside a runtime: a private running clock.
			iv.clock = newClock(false)
		} else {
			iv.clock = w.rt.clock
		}
		iv.next = iv.clock.nowTick()
	}
	c := iv.clock
	now := c.nowTick()
	if iv.next > now {
		if !iv.armed {
			iv.sleep.Reset(c.timeOf(iv.next).Sub(c.start.Add(c.elapsed())))
			iv.armed = true
		}
		if _, ok := iv.sleep.Poll(cx); !ok {
			return time.Time{}, false
		}
		iv.armed = false
		now = max(c.nowTick(), iv.next)
	}
	fired := iv.next
	period := uint64(iv.period / time.Millisecond)
	switch iv.missed {
	case Burst:
		iv.next = fired + period
	case Delay:
		iv.next = now + period
	case Skip:
		iv.next = fired + period*((now-fired)/period+1)
	}
	return c.timeOf(fired), true
}

// Drop cancels the timer of an Interval that is waiting.
func (iv *Interval) Drop() {
	if iv.armed {
		iv.sleep.Drop()
		iv.armed = false
	}
}
