package timer

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// The request-timeout pattern, the one the wheel is built for: every
// request arms a timeout of 1 ms to 60 s; 90% of requests finish first
// and cancel it, benchRequestLag requests later; the other 10% time out.
// The clock moves one tick every benchRequestsPerTick requests. One op is
// one request: arm, and then cancel or fire, plus the op's share of
// polling. The wheel is beside the two ways Go programs do it without
// one: time.AfterFunc with Stop, and context.WithTimeout with cancel.
// (The native timers run on the real clock, so their 10% fire in real
// time on the runtime's timer goroutines; the wheel's fire in the loop,
// and are counted in it.)

const (
	// benchPlanLen is how many requests' timeouts are drawn up front and
	// then cycled through.
	benchPlanLen = 1 << 16
	// benchRequestLag is how many requests later a finishing request
	// cancels its timeout: the requests in flight.
	benchRequestLag = 64
	// benchRequestsPerTick is how many requests arrive per millisecond.
	benchRequestsPerTick = 8
	// benchMaxTimeout is the longest timeout, in ticks.
	benchMaxTimeout = 60_000
)

// requestPlan is the drawn timeouts, in ticks, and which of them expire.
type requestPlan struct {
	timeout [benchPlanLen]uint64
	expires [benchPlanLen]bool
}

func newRequestPlan() *requestPlan {
	rng := rand.New(rand.NewPCG(7, 11))
	p := new(requestPlan)
	for i := range p.timeout {
		p.timeout[i] = 1 + rng.Uint64N(benchMaxTimeout)
		p.expires[i] = rng.IntN(10) == 0
	}
	return p
}

func BenchmarkRequestTimeouts(b *testing.B) {
	plan := newRequestPlan()

	b.Run("wheel", func(b *testing.B) {
		var w Wheel[int]
		// Entries in flight at most: the lag, plus the 10% that time out,
		// at 8 a tick for up to 60 s. A free list recycles them.
		pool := make([]Entry[int], benchRequestLag+benchRequestsPerTick*benchMaxTimeout/5)
		free := make([]*Entry[int], len(pool))
		for i := range pool {
			free[i] = &pool[i]
		}
		// inFlight[i % lag] is the timeout of the request that finishes
		// at request i. An entry in it has Value = its index + 1, so one
		// that fires first can be taken out of it.
		var inFlight [benchRequestLag]*Entry[int]
		var now uint64
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := i % benchRequestLag
			if e := inFlight[k]; e != nil {
				inFlight[k] = nil
				e.Value = 0
				w.Remove(e)
				free = append(free, e)
			}
			p := i % benchPlanLen
			e := free[len(free)-1]
			free = free[:len(free)-1]
			w.Insert(e, now+plan.timeout[p])
			if !plan.expires[p] {
				e.Value = k + 1
				inFlight[k] = e
			}
			if i%benchRequestsPerTick == 0 {
				now++
				for e := w.Poll(now); e != nil; e = w.Poll(now) {
					if e.Value != 0 {
						inFlight[e.Value-1] = nil
						e.Value = 0
					}
					free = append(free, e)
				}
			}
		}
	})

	b.Run("AfterFunc", func(b *testing.B) {
		fire := func() {}
		var inFlight [benchRequestLag]*time.Timer
		var expiring []*time.Timer
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := i % benchRequestLag
			if t := inFlight[k]; t != nil {
				t.Stop()
			}
			p := i % benchPlanLen
			t := time.AfterFunc(time.Duration(plan.timeout[p])*time.Millisecond, fire)
			if plan.expires[p] {
				inFlight[k] = nil
				expiring = append(expiring, t)
			} else {
				inFlight[k] = t
			}
		}
		b.StopTimer()
		for _, t := range append(expiring, inFlight[:]...) {
			if t != nil {
				t.Stop()
			}
		}
	})

	b.Run("WithTimeout", func(b *testing.B) {
		parent := context.Background()
		var inFlight [benchRequestLag]context.CancelFunc
		var expiring []context.CancelFunc
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := i % benchRequestLag
			if cancel := inFlight[k]; cancel != nil {
				cancel()
			}
			p := i % benchPlanLen
			_, cancel := context.WithTimeout(parent, time.Duration(plan.timeout[p])*time.Millisecond)
			if plan.expires[p] {
				inFlight[k] = nil
				expiring = append(expiring, cancel)
			} else {
				inFlight[k] = cancel
			}
		}
		b.StopTimer()
		for _, cancel := range append(expiring, inFlight[:]...) {
			if cancel != nil {
				cancel()
			}
		}
	})
}

// One timer armed and cancelled, nothing else in flight: the wheel's
// Insert and Remove beside time.AfterFunc and Stop, which allocates a
// Timer each time, and beside one reused time.Timer's Reset and Stop.
func BenchmarkInsertRemove(b *testing.B) {
	plan := newRequestPlan()

	b.Run("wheel", func(b *testing.B) {
		var w Wheel[int]
		var e Entry[int]
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			w.Insert(&e, plan.timeout[i%benchPlanLen])
			w.Remove(&e)
		}
	})

	b.Run("AfterFunc", func(b *testing.B) {
		fire := func() {}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			time.AfterFunc(time.Duration(plan.timeout[i%benchPlanLen])*time.Millisecond, fire).Stop()
		}
	})

	b.Run("Timer.Reset", func(b *testing.B) {
		t := time.AfterFunc(time.Hour, func() {})
		t.Stop()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			t.Reset(time.Duration(plan.timeout[i%benchPlanLen]) * time.Millisecond)
			t.Stop()
		}
	})
}

// An idle timeout pushed back on every read: 1024 connections, each read
// resets one connection's 30 s timeout, and the clock moves a tick every
// 8 reads. The wheel's Reset is lazy; beside it, a reused time.Timer's
// Reset per connection.
func BenchmarkResetLater(b *testing.B) {
	const conns = 1024
	const idle = 30_000

	b.Run("wheel", func(b *testing.B) {
		var w Wheel[int]
		entries := make([]Entry[int], conns)
		for i := range entries {
			w.Insert(&entries[i], idle)
		}
		var now uint64
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			w.Reset(&entries[i%conns], now+idle)
			if i%benchRequestsPerTick == 0 {
				now++
				for e := w.Poll(now); e != nil; e = w.Poll(now) {
					b.Fatal("an idle timeout fired while its connection was busy")
				}
			}
		}
	})

	b.Run("Timer.Reset", func(b *testing.B) {
		timers := make([]*time.Timer, conns)
		for i := range timers {
			timers[i] = time.AfterFunc(idle*time.Millisecond, func() {})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			timers[i%conns].Reset(idle * time.Millisecond)
		}
		b.StopTimer()
		for _, t := range timers {
			t.Stop()
		}
	})
}

// Poll across a billion ticks (11.6 days) with eight timers in the way:
// it costs a step per occupied slot crossed, not one per tick.
func BenchmarkPollFarJump(b *testing.B) {
	var w Wheel[int]
	entries := make([]Entry[int], 8)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := w.Elapsed()
		for i := range entries {
			w.Insert(&entries[i], start+uint64(i+1)*100_000_000)
		}
		for e := w.Poll(start + 1_000_000_000); e != nil; e = w.Poll(start + 1_000_000_000) {
		}
	}
}
