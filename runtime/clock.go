package runtime

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/atomic"
)

// The runtime's clock counts from New. Timer deadlines are whole
// milliseconds on it (the wheel's tick), rounded up, and "now" is rounded
// down, so a timer can fire late by less than a millisecond of rounding but
// never early.
//
// A paused clock (WithPausedClock) stands still until Advance moves it, so
// tests of timer-driven code run without real sleeps and give the same
// result every time.

// ErrClockNotPaused is returned by Advance on a runtime whose clock runs.
var ErrClockNotPaused = errors.New("runtime: clock not paused")

type clock struct {
	start   time.Time
	paused  bool
	virtual atomic.Int64 // nanoseconds since start, when paused
}

func newClock(paused bool) *clock {
	return &clock{start: time.Now(), paused: paused}
}

// elapsed is the time since start.
func (c *clock) elapsed() time.Duration {
	if c.paused {
		return time.Duration(c.virtual.Load())
	}
	return time.Since(c.start)
}

// nowTick is the current tick, rounded down.
func (c *clock) nowTick() uint64 { return uint64(c.elapsed() / time.Millisecond) }

// tickAt is the tick of time t, rounded up.
func (c *clock) tickAt(t time.Time) uint64 {
	return ceilTick(max(t.Sub(c.start), 0))
}

// timeOf converts a tick to a time.
func (c *clock) timeOf(tick uint64) time.Time {
	return c.start.Add(time.Duration(tick) * time.Millisecond)
}

// until is how long from now until tick (at least 0); for a paused clock,
// which no real wait can move, it is 0 if tick is due and -1 (forever)
// otherwise.
func (c *clock) until(tick uint64) time.Duration {
	e := c.elapsed()
	at := time.Duration(tick) * time.Millisecond
	if at <= e {
		return 0
	}
	if c.paused {
		return -1
	}
	return at - e
}

func ceilTick(d time.Duration) uint64 {
	return uint64((d + time.Millisecond - 1) / time.Millisecond)
}

// WithPausedClock starts the runtime with its clock stopped: timers fire
// only as Advance moves it.
func WithPausedClock() Option {
	return func(c *config) error {
		c.paused = true
		return nil
	}
}

// Now returns the runtime's current time: the wall clock, or for a paused
// clock the time it was started plus every Advance.
func (rt *Runtime) Now() time.Time { return rt.clock.start.Add(rt.clock.elapsed()) }

// Advance moves a paused clock forward by d and lets every worker fire the
// timers that are now due. It returns ErrClockNotPaused for a running
// clock.
func (rt *Runtime) Advance(d time.Duration) error {
	if !rt.clock.paused {
		return fmt.Errorf("runtime: advance: %w", ErrClockNotPaused)
	}
	if d < 0 {
		return fmt.Errorf("runtime: advance by %v: the clock does not go back", d)
	}
	rt.clock.virtual.Add(int64(d))
	for _, w := range rt.workers {
		w.parker.unpark(rt.driver)
	}
	return nil
}
