package runtime

import (
	"time"

	"go.uber.org/atomic"
)

// A parked worker sleeps in one of two places: inside the I/O driver's Poll
// (one worker at a time), or on its own channel. Whoever unparks it must
// know which, to write to the poller's Waker or to the channel; and an
// unpark that comes before the park must not be lost. The parker's word
// settles both (tokio's park.rs has the same four states).

// parkState is the value of a parker's word.
//
//	parkEmpty     awake, no unpark pending
//	parkedChan    asleep on the channel
//	parkedDriver  asleep in the driver's Poll
//	parkNotified  an unpark is pending: the next park returns at once
const (
	parkEmpty uint32 = iota
	parkedChan
	parkedDriver
	parkNotified
)

type parker struct {
	word atomic.Uint32
	ch   chan struct{} // one slot: a token per unpark of a channel sleeper
	// alarm ends a channel sleep at the worker's next timer; reused.
	alarm *time.Timer
}

func newParker() *parker {
	alarm := time.NewTimer(time.Hour)
	alarm.Stop()
	return &parker{ch: make(chan struct{}, 1), alarm: alarm}
}

// park sleeps until unpark or until timeout passes (<0: no limit). It parks
// in the driver when it can take it; the events it dispatched are
// returned.
func (p *parker) park(d *driver, timeout time.Duration) (events int, inDriver bool) {
	if timeout == 0 {
		p.word.CompareAndSwap(parkNotified, parkEmpty)
		return 0, false
	}
	if p.word.CompareAndSwap(parkNotified, parkEmpty) {
		return 0, false
	}
	if d.tryLock() {
		if !p.word.CompareAndSwap(parkEmpty, parkedDriver) {
			// Notified meanwhile.
			p.word.Store(parkEmpty)
			d.unlock()
			return 0, false
		}
		events = d.turn(timeout)
		p.word.Store(parkEmpty)
		d.unlock()
		return events, true
	}
	d.wanted.Store(true)
	if !p.word.CompareAndSwap(parkEmpty, parkedChan) {
		p.word.Store(parkEmpty)
		return 0, false
	}
	if timeout < 0 {
		<-p.ch
	} else {
		p.alarm.Reset(timeout)
		select {
		case <-p.ch:
			p.alarm.Stop()
		case <-p.alarm.C:
			// An unpark that found us asleep on the channel sends a
			// token, perhaps not yet: take it, or it would end the next
			// park for nothing.
			if p.word.Swap(parkEmpty) == parkNotified {
				<-p.ch
			}
			return 0, false
		}
	}
	p.word.Store(parkEmpty)
	return 0, false
}

// unpark wakes the parker, or makes its next park return at once.
func (p *parker) unpark(d *driver) {
	switch p.word.Swap(parkNotified) {
	case parkedChan:
		p.ch <- struct{}{}
	case parkedDriver:
		d.unpark()
	}
}
