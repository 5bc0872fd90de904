package timer

import "time"

// A tick is one millisecond. Converting time to ticks loses up to a tick,
// and which way it is lost decides whether a timer can fire early: a
// deadline rounded down, or a current time rounded up, lets the wheel's
// elapsed time reach the deadline before the clock does. So deadlines are
// rounded up (Ticks) and the current time down (ElapsedTicks); a timer
// then fires at most about a tick late, plus however late the caller
// polls, and never early.
//
// Both take a distance from the caller's origin. A sleep of d begun at
// time t has its deadline at Ticks(t.Add(d).Sub(origin)): adding Ticks(d)
// to ElapsedTicks(t.Sub(origin)) could land up to a tick short.

// Ticks converts d, a deadline's distance from the origin, to ticks,
// rounding up: 1 ns is 1 tick, 1 ms is 1 tick, 1 ms + 1 ns is 2 ticks. A
// negative or zero d is 0.
func Ticks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	t := uint64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		t++
	}
	return t
}

// ElapsedTicks converts d, the current time's distance from the origin, to
// ticks, rounding down, for Wheel.Poll: 1 ms - 1 ns is 0 ticks. A negative
// d is 0.
func ElapsedTicks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / time.Millisecond)
}
