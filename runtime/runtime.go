package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	goruntime "runtime"
	"sync"
	"unsafe"

	"github.com/metalio/metal/queue"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// ErrShutdown is the error of a task spawned after Shutdown began, or still
// pending when Shutdown cancelled it, and of BlockOn on a runtime shut down.
var ErrShutdown = errors.New("runtime: shut down")

// Runtime is a multi-threaded executor of tasks: a fixed set of worker
// goroutines with run queues of their own, a shared inject queue, an I/O
// driver on package poller, and a bounded pool of goroutines for blocking
// work. Make one with New, start tasks with Spawn and BlockOn, and stop it
// with Shutdown.
type Runtime struct {
	workers []*worker
	inject  queue.Inject[task.Task]
	idle    *idle
	driver  *driver
	sched   scheduler
	tasks   []task.Set // live tasks, sharded by task ID
	mask    uint64

	blocking *blockingPool
	clock    *clock

	// panics counts the panics of tasks started with Go (they have no
	// handle to carry them); onPanic is WithPanicHandler's, or nil.
	panics  atomic.Uint64
	onPanic func(*task.PanicError)

	closed   atomic.Bool // Shutdown began: no new tasks
	stopping atomic.Bool // workers must return
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// Option configures New.
type Option func(*config) error

type config struct {
	workers     int
	maxBlocking int
	paused      bool
	onPanic     func(*task.PanicError)
}

// WithWorkers sets the number of worker goroutines (default GOMAXPROCS).
func WithWorkers(n int) Option {
	return func(c *config) error {
		if n < 1 || n > countMask {
			return fmt.Errorf("runtime: WithWorkers(%d): want 1 to %d", n, countMask)
		}
		c.workers = n
		return nil
	}
}

// WithMaxBlocking bounds the goroutines SpawnBlocking may run at once
// (default 512); further blocking work waits for one to be free.
func WithMaxBlocking(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("runtime: WithMaxBlocking(%d): want at least 1", n)
		}
		c.maxBlocking = n
		return nil
	}
}

// WithPanicHandler calls h with the panic of every task started with Go or
// GoFrom, which have no JoinHandle to carry it (Metrics counts them in
// Panics either way). h runs on the worker that ran the task, before the
// worker goes on: it must not block. A panic in h itself is recovered and
// dropped.
func WithPanicHandler(h func(*task.PanicError)) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("runtime: WithPanicHandler(nil)")
		}
		c.onPanic = h
		return nil
	}
}

// New starts a runtime: its workers are running when it returns.
func New(opts ...Option) (*Runtime, error) {
	c := config{workers: goruntime.GOMAXPROCS(0), maxBlocking: 512}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	d, err := newDriver()
	if err != nil {
		return nil, err
	}
	shards := 1 << bits.Len(uint(4*c.workers-1))
	rt := &Runtime{
		idle:   newIdle(c.workers),
		driver: d,
		tasks:  make([]task.Set, shards),
		mask:   uint64(shards - 1),
		done:   make(chan struct{}),
		clock:  newClock(c.paused),
	}
	rt.onPanic = c.onPanic
	rt.sched.rt = rt
	rt.blocking = newBlockingPool(c.maxBlocking)
	rt.workers = make([]*worker, c.workers)
	for i := range rt.workers {
		rt.workers[i] = newWorker(rt, i)
		rt.workers[i].watched = c.workers > 1
	}
	rt.wg.Add(len(rt.workers))
	for _, w := range rt.workers {
		go w.run()
	}
	return rt, nil
}

// Workers returns the number of workers.
func (rt *Runtime) Workers() int { return len(rt.workers) }

// scheduler is the task.Scheduler of the runtime's tasks.
type scheduler struct{ rt *Runtime }

// Schedule queues a woken task. A task that ran before goes back to the
// worker that ran it (its cache is warm there): into that worker's LIFO
// slot, so it runs next, and the task it displaces into that worker's
// remote queue. A new task goes to the inject queue.
func (s *scheduler) Schedule(t *task.Task) {
	rt := s.rt
	if h := t.Hint(); h != 0 && int(h) <= len(rt.workers) {
		rt.workers[h-1].scheduleRemote(t)
		return
	}
	if !rt.inject.Push(t) {
		t.Shutdown(ErrShutdown) // the workers are gone
		return
	}
	rt.notifyParked()
}

// ReportPanic counts the panic of a task started with Go and hands it to
// WithPanicHandler's handler (task.PanicReporter).
func (s *scheduler) ReportPanic(err *task.PanicError) {
	rt := s.rt
	rt.panics.Add(1)
	if rt.onPanic != nil {
		defer func() { _ = recover() }()
		rt.onPanic(err)
	}
}

// notifyParked wakes one parked worker if nobody is searching for work.
func (rt *Runtime) notifyParked() {
	if id := rt.idle.workerToWake(); id >= 0 {
		rt.workers[id].parker.unpark(rt.driver)
	}
}

// Spawn starts f as a task on rt and returns its handle. It never blocks
// and may be called from any goroutine, including from inside a task.
// After Shutdown began, the handle's error matches ErrShutdown.
func Spawn[T any](rt *Runtime, f task.Future[T]) *task.JoinHandle[T] {
	t, h := task.New(f, &rt.sched)
	rt.spawnFrom(t, nil, 0)
	return h
}

// own makes t one of the runtime's live tasks, or, after Shutdown began,
// ends it with ErrShutdown and reports false. The task only joins its set
// the first time it waits (Watch), so a task that completes in its first
// poll never takes the set's lock; until then it is in a queue, which
// Shutdown drains. The set is sharded to keep spawners and completers off
// one lock; a task spawned from a worker (hint != 0) goes to a shard of
// that worker's, since it usually completes there too. With watch false
// the task joins the set at once (task.Set.Add).
func (rt *Runtime) own(t *task.Task, hint uint32, watch bool) bool {
	if rt.closed.Load() {
		t.Shutdown(ErrShutdown)
		return false
	}
	set := rt.shard(t, hint)
	if !watch {
		if !set.Add(t) {
			t.Shutdown(ErrShutdown)
			return false
		}
		return true
	}
	set.Watch(t)
	return true
}

// shard returns the shard of the live set for t: one of the worker's whose
// hint is given, or any, for hint 0.
func (rt *Runtime) shard(t *task.Task, hint uint32) *task.Set {
	i := shardHash(t)
	if hint != 0 {
		per := uint64(len(rt.tasks) / len(rt.workers))
		i = uint64(hint-1)*per + i%per
	}
	return &rt.tasks[i&rt.mask]
}

// shardHash spreads tasks over the shards of the live set by address (the
// garbage collector does not move heap objects): drawing a task ID instead
// would make every spawn on every worker write one shared counter.
func shardHash(t *task.Task) uint64 {
	// Fibonacci hashing; the top bits are the well-mixed ones.
	return (uint64(uintptr(unsafe.Pointer(t))) * 0x9e3779b97f4a7c15) >> 32
}

// SpawnFrom is Spawn for a task of rt to call from its Poll, with the
// Context it was given: the new task is queued on the worker running the
// caller, to run next, while what the caller just did is in that worker's
// cache, instead of going through the shared inject queue; another worker
// steals it if this one stays busy. With a Context from anywhere else it
// is Spawn. Like the Context itself, cx must not be passed to another
// goroutine: SpawnFrom uses the caller's worker's own queue.
func SpawnFrom[T any](rt *Runtime, cx *task.Context, f task.Future[T]) *task.JoinHandle[T] {
	w, hint := rt.caller(cx)
	t, h := task.New(f, &rt.sched)
	rt.spawnFrom(t, w, hint)
	return h
}

// Go starts f as a task on rt that nobody joins, as `go f()` starts a
// goroutine: its value is dropped. A panic ends it, is counted in
// Metrics.Panics and goes to WithPanicHandler's handler; the worker goes
// on. It is Spawn without the handle, and cheaper, since the task's
// memory serves another Go once the task completes (task.NewDetached).
// After Shutdown began, f is dropped without being polled.
func Go[T any](rt *Runtime, f task.Future[T]) {
	rt.spawnFrom(task.NewDetached(f, &rt.sched), nil, 0)
}

// GoFrom is Go for a task of rt to call from its Poll, with the Context it
// was given: the new task is queued to run next on the caller's worker,
// as with SpawnFrom, in memory that worker's tasks left.
func GoFrom[T any](rt *Runtime, cx *task.Context, f task.Future[T]) {
	w, hint := rt.caller(cx)
	var spares *task.Spares
	if w != nil {
		spares = &w.spares
	}
	rt.spawnFrom(task.NewDetachedFrom(spares, f, &rt.sched), w, hint)
}

// caller returns the worker whose goroutine is polling the task cx is the
// Context of, when that task is rt's and the caller is that poll; and the
// hint of the worker that task last ran on (0 if none).
func (rt *Runtime) caller(cx *task.Context) (w *worker, hint uint32) {
	if cx == nil {
		return nil, 0
	}
	parent := cx.Task()
	if parent == nil || parent.Scheduler() != task.Scheduler(&rt.sched) {
		return nil, 0
	}
	hint = parent.Hint()
	if hint != 0 && int(hint) <= len(rt.workers) {
		if w := rt.workers[hint-1]; w.current == parent {
			// The poll under way on w: this is w's goroutine.
			return w, hint
		}
	}
	return nil, hint
}

// spawnFrom makes t one of rt's tasks and queues it: on w, whose goroutine
// is the caller's, to run next, or through Schedule near the worker of
// hint (0: the inject queue).
func (rt *Runtime) spawnFrom(t *task.Task, w *worker, hint uint32) {
	if !rt.own(t, hint, true) {
		return
	}
	if hint != 0 { // a new task's hint is 0 already
		t.SetHint(hint)
	}
	if w != nil {
		// Called from the poll under way on w, on w's goroutine: the ring
		// is ours to push to.
		w.scheduleLocal(t)
		return
	}
	rt.sched.Schedule(t)
}

// BlockOn runs f as a task of rt and blocks the calling goroutine until it
// completes, returning its value. It is for goroutines that are not the
// runtime's (main, a test); inside a task, await the future instead. f runs
// on a worker like any task, so it can spawn tasks, wait on them and on I/O
// and sleep on the runtime's timers. A panic in f is returned as an error
// matching task.ErrPanicked; a Shutdown that cancels f ends it with an error
// matching ErrShutdown.
func BlockOn[T any](rt *Runtime, f task.Future[T]) (T, error) {
	return Spawn(rt, f).Wait()
}

// Shutdown stops rt: Spawn fails from now on, pending tasks are cancelled
// (their handles' errors match ErrShutdown), the workers return after the
// polls under way, blocking work still running is waited for, and the
// poller is closed. It returns nil once all of that is done, or ctx's error
// if ctx ends first (the rest then finishes in the background). Calling it
// again waits again.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.once.Do(func() {
		rt.closed.Store(true)
		for i := range rt.tasks {
			rt.tasks[i].Close(ErrShutdown)
		}
		rt.stopping.Store(true)
		for _, w := range rt.workers {
			w.parker.unpark(rt.driver)
		}
		go func() {
			rt.wg.Wait()
			rt.blocking.shutdown()
			rt.inject.Close()
			rt.inject.Drain(shutdownTask)
			rt.driver.shutdown()
			close(rt.done)
		}()
	})
	select {
	case <-rt.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runtime: shutdown: %w", ctx.Err())
	}
}

// shutdownTask cancels a task Shutdown found in a queue. A task waiting
// for its first poll is in no live set (they are watched, see task.Set),
// so only the queues can hand it to Shutdown.
func shutdownTask(t *task.Task) { t.Shutdown(ErrShutdown) }

// Done returns a channel closed when Shutdown has finished.
func (rt *Runtime) Done() <-chan struct{} { return rt.done }
