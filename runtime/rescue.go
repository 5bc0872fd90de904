package runtime

import "time"

// A worker can stop turning while awake: a task blocks it inside a poll (a
// lock, a system call, a loop that never calls Proceed), or Go deschedules
// its goroutine for a time slice because more goroutines want the CPUs
// than there are. Its ring is stolen from as usual, but three things are
// its alone and would wait for it: the timers in its wheel, the task in
// its LIFO slot, and the tasks woken for it (scheduleRemote sends a task
// back to the worker that last ran it). So the workers watch each other,
// as Go's sysmon watches its Ps:
//
//   - Each worker stores a heartbeat, the clock tick, whenever it looks at
//     its timers, at every maintenance tick (61 polls) and when it wakes.
//   - A busy worker checks the others at its maintenance tick; an idle one
//     parks for at most watchInterval while any other worker is awake, and
//     checks them when it wakes.
//   - A worker awake with a heartbeat stuckTicks old is stuck. The watcher
//     marks it as rescued by itself, so tasks woken for the stuck worker
//     go to the watcher's remote queue instead (not the inject queue,
//     where they could wait behind thousands of new tasks), and fires its
//     due timers under its wheel lock (TryLock: the owner holds it for one
//     wheel operation at a time, never across a poll).
//   - An idle watcher goes on to search, which takes the stuck worker's
//     LIFO slot and remote queue as well as half its ring. A busy one
//     leaves them: moved into its own ring they would wait behind its
//     tasks, and what overflowed would wait in the inject queue, which a
//     worker with a full ring looks at once in 61 polls (tried: the worst
//     lateness of 100,000 timers beside busy workers went from 16 ms to
//     292 ms).
//   - The stuck worker clears the mark with its next heartbeat.
//
// Rescuing a worker that was only slow (polls of a few milliseconds each)
// costs nothing but some locality: its timers fire a little earlier than
// it would have fired them, on another worker.

const (
	// stuckTicks is how old a heartbeat is when its worker is stuck.
	stuckTicks = 2
	// watchInterval bounds an idle worker's sleep while others are awake.
	watchInterval = 2 * time.Millisecond
)

// heartbeat stores now as the worker's heartbeat and ends a rescue.
func (w *worker) heartbeat(now uint64) {
	if w.beat.Load() != now {
		w.beat.Store(now)
	}
	if w.rescuedBy.Load() != 0 {
		w.rescuedBy.Store(0) // back at work: wakes may come here again
	}
}

// watchPeers rescues the workers that are stuck at now (see above).
func (w *worker) watchPeers(now uint64) {
	rt := w.rt
	if rt.clock.paused {
		return // a paused clock moves in jumps: a heartbeat proves nothing
	}
	rescued := false
	for _, v := range rt.workers {
		if v == w || v.parked.Load() || v.beat.Load()+stuckTicks > now {
			continue
		}
		rescued = true
		if v.rescuedBy.Load() != w.hint {
			v.rescuedBy.Store(w.hint)
			w.counters.rescues++
		}
		if v.wheelMu.TryLock() {
			n, _ := v.fireDue(now)
			v.wheelMu.Unlock()
			w.counters.timersRescued += uint64(n)
		}
	}
	if rescued {
		w.publish()
	}
}

// peersAwake reports whether any other worker is awake, so an idle worker
// should not sleep longer than watchInterval.
func (w *worker) peersAwake() bool {
	for _, v := range w.rt.workers {
		if v != w && !v.parked.Load() {
			return true
		}
	}
	return false
}
