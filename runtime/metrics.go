package runtime

import (
	"encoding/json"
	"expvar"

	"go.uber.org/atomic"
)

// Each worker counts in plain fields only it writes, and copies them to
// atomic ones (publish) when it parks, after a steal, and at every
// maintenance tick: a poll costs an increment, not an atomic operation,
// and a snapshot is at most 61 polls behind a busy worker.

type counters struct {
	polls         uint64
	lifoPolls     uint64
	steals        uint64 // tasks taken from other workers
	stealOps      uint64 // successful steal operations
	parks         uint64
	ioEvents      uint64
	forcedYields  uint64
	timersFired   uint64
	rescues       uint64 // times it found another worker stuck
	timersRescued uint64 // timers it fired for stuck workers
}

type publishedCounters struct {
	polls, lifoPolls, steals, stealOps, parks, ioEvents, forcedYields, timersFired atomic.Uint64
	rescues, timersRescued                                                         atomic.Uint64
	localDepth, timers                                                             atomic.Int64
}

func (w *worker) publish() {
	c, p := &w.counters, &w.pub
	p.polls.Store(c.polls)
	p.lifoPolls.Store(c.lifoPolls)
	p.steals.Store(c.steals)
	p.stealOps.Store(c.stealOps)
	p.parks.Store(c.parks)
	p.ioEvents.Store(c.ioEvents)
	p.forcedYields.Store(c.forcedYields)
	p.timersFired.Store(c.timersFired)
	p.rescues.Store(c.rescues)
	p.timersRescued.Store(c.timersRescued)
	p.localDepth.Store(int64(w.local.Len()))
	p.timers.Store(int64(w.armed))
}

// WorkerMetrics are one worker's counters since New.
type WorkerMetrics struct {
	Polls        uint64 `json:"polls"`         // task polls
	LIFOPolls    uint64 `json:"lifo_polls"`    // of which from the LIFO slot
	Steals       uint64 `json:"steals"`        // tasks taken from other workers
	StealOps     uint64 `json:"steal_ops"`     // steal operations that took something
	Parks        uint64 `json:"parks"`         // times the worker went to sleep
	IOEvents     uint64 `json:"io_events"`     // readiness events it dispatched
	ForcedYields uint64 `json:"forced_yields"` // polls ended by the budget
	TimersFired  uint64 `json:"timers_fired"`  // timers it fired
	// Rescues counts the times it found another worker stuck in a poll,
	// and TimersRescued the timers it fired for stuck workers (rescue.go).
	Rescues       uint64 `json:"rescues"`
	TimersRescued uint64 `json:"timers_rescued"`
	LocalDepth    int    `json:"local_depth"` // tasks in its ring when last published
	Timers        int    `json:"timers"`      // timers in its wheel when last published
}

// Metrics is a snapshot of a runtime's counters.
type Metrics struct {
	Workers      []WorkerMetrics `json:"workers"`
	InjectDepth  int             `json:"inject_depth"`  // tasks in the inject queue
	LiveTasks    int             `json:"live_tasks"`    // not complete, and waited at least once (a task queued for its first poll is in the queue depths)
	IOSources    int             `json:"io_sources"`    // registered IO
	BlockingLive int             `json:"blocking_live"` // goroutines of the blocking pool
	Searching    int             `json:"searching"`     // workers searching for work
	Unparked     int             `json:"unparked"`      // workers not parked
	Panics       uint64          `json:"panics"`        // panics of tasks started with Go, which have no handle to carry them
}

// Metrics returns a snapshot of rt's counters. Busy workers publish theirs
// every few dozen polls, idle ones when they park.
func (rt *Runtime) Metrics() Metrics {
	m := Metrics{
		Workers:      make([]WorkerMetrics, len(rt.workers)),
		InjectDepth:  rt.inject.Len(),
		IOSources:    rt.driver.slab.Live(),
		BlockingLive: rt.blocking.live(),
		Searching:    rt.idle.load().searching(),
		Unparked:     rt.idle.load().unparked(),
		Panics:       rt.panics.Load(),
	}
	for i, w := range rt.workers {
		p := &w.pub
		m.Workers[i] = WorkerMetrics{
			Polls:         p.polls.Load(),
			LIFOPolls:     p.lifoPolls.Load(),
			Steals:        p.steals.Load(),
			StealOps:      p.stealOps.Load(),
			Parks:         p.parks.Load(),
			IOEvents:      p.ioEvents.Load(),
			ForcedYields:  p.forcedYields.Load(),
			TimersFired:   p.timersFired.Load(),
			Rescues:       p.rescues.Load(),
			TimersRescued: p.timersRescued.Load(),
			LocalDepth:    int(p.localDepth.Load()),
			Timers:        int(p.timers.Load()),
		}
	}
	for i := range rt.tasks {
		m.LiveTasks += rt.tasks[i].Len()
	}
	return m
}

// Total sums the workers' counters.
func (m Metrics) Total() WorkerMetrics {
	var t WorkerMetrics
	for _, w := range m.Workers {
		t.Polls += w.Polls
		t.LIFOPolls += w.LIFOPolls
		t.Steals += w.Steals
		t.StealOps += w.StealOps
		t.Parks += w.Parks
		t.IOEvents += w.IOEvents
		t.ForcedYields += w.ForcedYields
		t.TimersFired += w.TimersFired
		t.LocalDepth += w.LocalDepth
		t.Timers += w.Timers
	}
	return t
}

// Expvar returns rt's metrics as an expvar.Var (JSON), for
// expvar.Publish("metal", rt.Expvar()).
func (rt *Runtime) Expvar() expvar.Var {
	return expvar.Func(func() any { return rt.Metrics() })
}

// String is the metrics as JSON.
func (m Metrics) String() string {
	b, _ := json.Marshal(m)
	return string(b)
}
