package runtime

import (
	goruntime "runtime"
	"sync"

	"github.com/metalio/metal/queue"
	"github.com/metalio/metal/task"
	"github.com/metalio/metal/timer"
	"go.uber.org/atomic"
)

// A worker is a goroutine that runs tasks, one poll at a time, from the
// queues below, in this order:
//
//  1. Every 61st tick, the inject queue first, and a turn of the I/O driver
//     that does not wait (maintenance); every 8th, due timers, if it has
//     any armed. Without the first, a worker whose
//     own tasks keep waking each other would never look at tasks spawned
//     from outside; without the second, a runtime with no idle worker would
//     never see I/O. 61 is the interval Go's scheduler uses for its global
//     run queue and tokio for both: prime, so it does not fall into step
//     with a task pattern, and rare enough to cost nothing measurable.
//  2. The LIFO slot: the task woken most recently for this worker. A task
//     that wakes another (a message sent, a lock released) usually wants it
//     to run now, while the message is in the cache; running the wakee next
//     instead of behind the queue is what makes request/response between
//     tasks fast. At most 3 polls in a row come from the slot: two tasks
//     waking each other forever would otherwise starve the queue; the
//     fourth goes to the back of the ring.
//  3. The remote queue: tasks woken for this worker while the LIFO slot
//     was taken, by any goroutine (the ring has one producer only). What
//     is there joins the back of the ring before the ring is popped, so
//     such tasks wait their turn but cannot starve behind busy ones.
//  4. The local ring (256 tasks, owner pushes, thieves take half).
//  5. The inject queue: tasks spawned, and rings' overflow. Taken in a
//     batch (its share of the queue, up to half a ring), so one lock
//     serves many polls and other workers can steal the rest.
//  6. Searching: stealing half of another worker's ring (or its remote
//     queue, or, last, its LIFO slot), at most half the workers at once.
//  7. Parking: in the I/O driver if it is free, on its own channel if not.
//
// A task's poll has a budget of task.Budget operations; a task that spends
// it is put behind the others (a forced yield). A task woken while it ran
// goes to the back of the ring too.

const (
	// injectInterval: see 1 above.
	injectInterval = 61
	// timerInterval: a worker with timers armed looks at its clock every
	// 8 polls, not only every 61: a clock read costs about 20 ns, and a
	// timer should not wait behind 61 long polls.
	timerInterval = 8
	// maxLIFOPolls: see 2 above.
	maxLIFOPolls = 3
	// maxInjectBatch bounds a batch taken from an inject or remote queue.
	maxInjectBatch = queue.LocalCapacity / 2
)

type worker struct {
	rt     *Runtime
	id     int
	hint   uint32 // id+1: what tasks run here carry as their hint
	local  queue.Local[task.Task]
	lifo   atomic.Pointer[task.Task]
	remote queue.Inject[task.Task]
	parker *parker
	parked atomic.Bool // true from just before parking until awake

	// wheel, under wheelMu: its owner's, and a rescuer's (see timers.go).
	wheel   timer.Wheel[*timerEntry]
	wheelMu sync.Mutex
	// watched: other workers may rescue this one's timers, so its wheel
	// operations take wheelMu (false in a runtime of one worker).
	watched bool
	cancels atomic.Pointer[timerEntry] // timers cancelled from anywhere
	// beat is the clock tick at which the worker last looked at its
	// timers while awake (rescue.go); rescuedBy is the hint of the worker
	// that found it stuck (0: none), cleared by the owner when it is back.
	beat      atomic.Uint64
	rescuedBy atomic.Uint32

	// Owner-only state.
	current *task.Task // the task being polled, for SpawnFrom
	// spares: memory of detached tasks that completed here, for the
	// GoFrom calls of the tasks polled here.
	spares task.Spares
	// armed is the wheel's length when the owner last touched it: never
	// below the true length (only the owner inserts; a rescuer only takes
	// entries out), so armed == 0 means an empty wheel without the lock.
	armed int
	// timersBehind: the last processTimers stopped at its move budget.
	timersBehind bool
	searching    bool
	tick         uint32
	lifoPolls    int
	rng          uint32
	batch        [maxInjectBatch]*task.Task
	counters     counters
	pub          publishedCounters
}

func newWorker(rt *Runtime, id int) *worker {
	return &worker{
		rt:     rt,
		id:     id,
		hint:   uint32(id + 1),
		parker: newParker(),
		rng:    uint32(id)*0x9e3779b9 | 1,
	}
}

func (w *worker) run() {
	defer w.rt.wg.Done()
	rt := w.rt
	for !rt.stopping.Load() {
		t := w.next()
		if t == nil {
			t = w.search()
		}
		if t == nil {
			w.park()
			continue
		}
		w.runTask(t)
	}
	w.exit()
}

// next finds a task in this worker's own queues and the inject queue.
func (w *worker) next() *task.Task {
	w.tick++
	rt := w.rt
	if w.tick%injectInterval == 0 {
		w.maintenance()
		if t := rt.inject.Pop(); t != nil {
			return t
		}
	} else if w.timersBehind || w.tick%timerInterval == 0 {
		w.processTimers()
	}
	if w.lifo.Load() != nil {
		if t := w.lifo.Swap(nil); t != nil {
			if w.lifoPolls < maxLIFOPolls {
				w.lifoPolls++
				w.counters.lifoPolls++
				return t
			}
			w.local.Push(t, &rt.inject)
		}
	}
	w.lifoPolls = 0
	if !w.remote.IsEmpty() {
		// Tasks woken for this worker join the back of the ring, so they
		// wait their turn behind the ring's tasks but never starve there.
		w.drainRemote()
	}
	if t := w.local.Pop(); t != nil {
		return t
	}
	if !rt.inject.IsEmpty() {
		return w.takeBatch(&rt.inject)
	}
	return nil
}

// takeBatch takes a share of q: one task to run, the rest into the ring.
func (w *worker) takeBatch(q *queue.Inject[task.Task]) *task.Task {
	n := q.Len()/len(w.rt.workers) + 1
	if n > maxInjectBatch {
		n = maxInjectBatch
	}
	got := q.PopBatch(w.batch[:n])
	if got == 0 {
		return nil
	}
	t := w.batch[0]
	if got > 1 {
		rest := w.batch[1:got]
		if k := w.local.PushBatch(rest); k < len(rest) {
			w.rt.inject.PushBatch(rest[k:])
		}
		w.rt.notifyParked()
	}
	clear(w.batch[:got])
	return t
}

// drainRemote moves the remote queue into the ring, as far as it fits.
func (w *worker) drainRemote() {
	room := queue.LocalCapacity - w.local.Len()
	if room <= 0 {
		return
	}
	got := w.remote.PopBatch(w.batch[:min(room, maxInjectBatch)])
	if got == 0 {
		return
	}
	if k := w.local.PushBatch(w.batch[:got]); k < got {
		w.rt.inject.PushBatch(w.batch[k:got])
	}
	clear(w.batch[:got])
	if w.local.Len() > 1 {
		w.rt.notifyParked()
	}
}

// search steals from the other workers, then the inject queue.
func (w *worker) search() *task.Task {
	rt := w.rt
	if !w.searching {
		if !rt.idle.toSearching() {
			return nil
		}
		w.searching = true
	}
	n := len(rt.workers)
	start := int(w.random() % uint32(n))
	for i := 0; i < n; i++ {
		v := rt.workers[(start+i)%n]
		if v == w {
			continue
		}
		if t := v.local.StealInto(&w.local); t != nil {
			w.counters.steals += uint64(1 + w.local.Len())
			w.counters.stealOps++
			w.publish()
			return t
		}
		if !v.remote.IsEmpty() {
			if t := w.takeBatch(&v.remote); t != nil {
				w.counters.stealOps++
				w.counters.steals++
				w.publish()
				return t
			}
		}
	}
	if !rt.inject.IsEmpty() {
		if t := w.takeBatch(&rt.inject); t != nil {
			return t
		}
	}
	// Last: a LIFO slot of a worker that is neither parked (it would be
	// woken for it) nor able to get to it soon: its ring and remote queue
	// are empty too, so it is in a long poll.
	for i := 0; i < n; i++ {
		v := rt.workers[(start+i)%n]
		if v == w || v.parked.Load() || v.lifo.Load() == nil {
			continue
		}
		if t := v.lifo.Swap(nil); t != nil {
			w.counters.stealOps++
			w.counters.steals++
			w.publish()
			return t
		}
	}
	return nil
}

// runTask polls t once and requeues it if it asks to be.
func (w *worker) runTask(t *task.Task) {
	rt := w.rt
	if w.searching {
		w.searching = false
		if rt.idle.fromSearching() {
			// The last searcher found work: there may be more.
			rt.notifyParked()
		}
	}
	if t.Hint() != w.hint {
		t.SetHint(w.hint)
		// Taken from another worker: if t has not waited yet, it joins a
		// shard of this worker's when it does (task.Set.Watch), the shard
		// this worker's other tasks join, not the one its spawner's do.
		rt.shard(t, w.hint).Watch(t)
	}
	w.counters.polls++
	w.current = t
	outcome := t.RunWith(&w.spares)
	w.current = nil
	switch outcome {
	case task.Exhausted:
		w.counters.forcedYields++
		w.requeue(t)
	case task.Yielded:
		w.requeue(t)
	}
}

// requeue puts t at the back of the ring, and lets an idle worker help if
// the ring holds more than this worker can start on now.
func (w *worker) requeue(t *task.Task) {
	w.local.Push(t, &w.rt.inject)
	if w.local.Len() > 1 {
		w.rt.notifyParked()
	}
}

// scheduleRemote queues t for this worker from any goroutine: into the
// LIFO slot, the task it displaces into the remote queue.
func (w *worker) scheduleRemote(t *task.Task) {
	rt := w.rt
	if r := w.rescuedBy.Load(); r != 0 && int(r) <= len(rt.workers) {
		// w is stuck in a poll (rescue.go): the worker that found it so
		// runs t. Into its remote queue, never further: its own mark is
		// not followed, so a stale one cannot send t round in circles.
		rw := rt.workers[r-1]
		if !rw.remote.Push(t) {
			t.Shutdown(ErrShutdown) // rw has exited: shutting down
			return
		}
		if rw.parked.Load() {
			rw.parker.unpark(rt.driver)
		}
		return
	}
	if old := w.lifo.Swap(t); old != nil {
		if !w.remote.Push(old) {
			// w has exited (see exit): nobody will run what sits in its
			// slot, so cancel that too.
			old.Shutdown(ErrShutdown)
			w.dropLIFO()
			return
		}
		// A backlog behind a busy worker: let an idle one steal it.
		rt.notifyParked()
	} else if w.remote.IsClosed() {
		w.dropLIFO() // w exited before or while t went in
		return
	}
	if w.parked.Load() {
		w.parker.unpark(rt.driver)
	}
}

// scheduleLocal queues t from w's own goroutine: into the LIFO slot, the
// task it displaces to the back of the ring.
func (w *worker) scheduleLocal(t *task.Task) {
	if old := w.lifo.Swap(t); old != nil {
		w.local.Push(old, &w.rt.inject)
		if w.local.Len() > 1 {
			w.rt.notifyParked()
		}
	}
}

// hasOwnWork reports tasks queued for this worker by others.
func (w *worker) hasOwnWork() bool {
	return w.lifo.Load() != nil || !w.remote.IsEmpty() || !w.local.IsEmpty()
}

// park sleeps until there is work or a timer is due.
func (w *worker) park() {
	rt := w.rt
	if w.processTimers() > 0 {
		return // tasks were woken; look for them before sleeping
	}
	// Goroutines this worker readied (a driver turn woke a goroutine
	// blocked in a net.Conn's Read, say) sit in this P's run queue. Parking
	// in the driver is a blocking system call that keeps the P, and they
	// would wait for Go's sysmon to take it back (20 us or more) or for a
	// thief: let them run first.
	goruntime.Gosched()
	w.parked.Store(true)
	rt.idle.toParked(w.id, w.searching)
	w.searching = false
	w.counters.parks++
	w.spares.Trim() // an idle worker holds few
	w.publish()
	// Work queued for us between our last look and the parked flag woke
	// nobody: look again, now that every producer after this point will
	// see the flag. Shared work queued meanwhile (the inject queue, or a
	// busy worker's backlog, which a last searcher was to find) gets a
	// parked worker woken, possibly this one.
	switch {
	case rt.stopping.Load() || w.hasOwnWork() || w.cancels.Load() != nil:
		w.parker.unpark(rt.driver)
	case rt.workPending():
		rt.notifyParked()
	}
	timeout := w.timerTimeout()
	if (timeout < 0 || timeout > watchInterval) && w.peersAwake() {
		timeout = watchInterval
	}
	events, inDriver := w.parker.park(rt.driver, timeout)
	w.parked.Store(false)
	now := rt.clock.nowTick()
	w.heartbeat(now)
	w.searching = rt.idle.unparked(w.id)
	if inDriver {
		w.counters.ioEvents += uint64(events)
		w.handOffDriver()
	}
	w.processTimers()
	w.watchPeers(now)
}

// maintenance fires due timers and turns the driver without waiting, if
// nobody has it.
func (w *worker) maintenance() {
	now := w.rt.clock.nowTick()
	w.heartbeat(now)
	w.watchPeers(now)
	w.processTimers()
	d := w.rt.driver
	// No source registered and none waiting to be released: a turn could
	// only find the driver's own wake-ups, for workers parked in it, and
	// costs a system call (5 us here) every 61 polls of a runtime doing
	// no I/O.
	if (d.slab.Live() > 0 || d.relN.Load() > 0) && d.tryLock() {
		w.counters.ioEvents += uint64(d.turn(0))
		d.unlock()
		w.handOffDriver()
	}
	w.publish()
}

// handOffDriver wakes a worker parked on its channel when it wanted the
// driver and found it held: this worker is going back to work, and
// somebody should be watching I/O.
func (w *worker) handOffDriver() {
	rt := w.rt
	if w.local.IsEmpty() && w.remote.IsEmpty() {
		// At most one task to run (the LIFO slot): this worker will be
		// back in the driver after one poll, sooner than a sleeper could
		// wake (a futex wake-up and a thread switch, per event).
		return
	}
	if rt.driver.wanted.Load() && rt.driver.wanted.Swap(false) {
		if id := rt.idle.anySleeper(); id >= 0 {
			rt.workers[id].parker.unpark(rt.driver)
		}
	}
}

// exit drops what is left in this worker's queues: every task was shut
// down by then, so the entries are stale.
//
// Tasks still queued are cancelled: one waiting for its first poll is in no
// live set, so Shutdown's Close did not reach it. The remote queue closes
// first, so a scheduleRemote racing with exit either finds it closed and
// cancels what it put in the LIFO slot itself, or put it there before the
// slot is emptied here.
func (w *worker) exit() {
	w.remote.Close()
	w.dropLIFO()
	for t := w.local.Pop(); t != nil; t = w.local.Pop() {
		t.Shutdown(ErrShutdown)
	}
	w.remote.Drain(shutdownTask)
	w.publish()
}

// dropLIFO cancels the task in the LIFO slot of a worker that has exited.
func (w *worker) dropLIFO() {
	if t := w.lifo.Swap(nil); t != nil {
		t.Shutdown(ErrShutdown)
	}
}

// random is a xorshift step, for choosing where to start stealing.
func (w *worker) random() uint32 {
	x := w.rng
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	w.rng = x
	return x
}

// workPending reports tasks that any worker could take: in the inject
// queue, or in a worker's ring or remote queue.
func (rt *Runtime) workPending() bool {
	if !rt.inject.IsEmpty() {
		return true
	}
	for _, v := range rt.workers {
		if !v.remote.IsEmpty() || !v.local.IsEmpty() {
			return true
		}
	}
	return false
}
