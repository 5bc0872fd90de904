package task

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"go.uber.org/atomic"
)

// A task is a future an executor owns: the executor polls it on one of its
// goroutines whenever it is woken, until it completes. The pieces:
//
//   - Task is the executor's side, with no type parameter: Run it when it
//     comes out of a run queue, and it calls the Scheduler's Schedule when a
//     wake finds it idle. Package runtime is one executor; New lets anyone
//     write another (a test harness, a single-goroutine loop).
//   - JoinHandle[T] is the spawner's side and the memory of the task itself:
//     Task is its first field, the future and the result follow, so
//     spawning allocates once.
//   - The state word (state.go) decides every race between runners, wakers,
//     Abort, Shutdown and the handle. A Waker is a pointer to the Task and
//     the task's generation: the garbage collector keeps a task alive while
//     anything can still wake it, so there is no reference count in the
//     word, and a detached task's memory, which is reused (detached.go),
//     turns away the wakes of its earlier generations.

// ErrAborted is the error of a task ended by JoinHandle.Abort.
var ErrAborted = errors.New("task: aborted")

// ErrNilFuture is the error of a task spawned with a nil Future.
var ErrNilFuture = errors.New("task: nil future")

// ErrPanicked matches (with errors.Is) the error of a task whose future
// panicked; errors.As gives the *PanicError with the value and the stack.
var ErrPanicked = errors.New("task: panicked")

// PanicError is the error of a task whose future panicked.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the stack of the goroutine at the panic
}

// Error includes the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("task: panicked: %v", e.Value) }

// Is makes errors.Is(err, ErrPanicked) true.
func (e *PanicError) Is(target error) bool { return target == ErrPanicked }

// Unwrap returns the panic value when it was an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Scheduler is an executor, as a Task sees it.
type Scheduler interface {
	// Schedule queues t to be Run. It is called from whatever goroutine woke
	// t, once per wake that found t idle, never while t runs. It must not
	// block and must not run t itself.
	Schedule(t *Task)
}

// Outcome says how a Run ended and what the executor does next.
type Outcome uint8

const (
	// Idle: the future is waiting; a wake will Schedule the task again.
	Idle Outcome = iota
	// Done: the task completed (with its value, an error, a panic or a
	// cancellation), or there was nothing to run. Forget it.
	Done
	// Yielded: the task was woken while it ran (by itself or another
	// goroutine). Queue it again.
	Yielded
	// Exhausted: the task spent its whole budget. Queue it again, behind
	// the tasks already waiting.
	Exhausted
)

// Task is a spawned future as its executor sees it.
type Task struct {
	state stateWord
	body  body
	sched Scheduler
	cx    Context // the one Context every poll of this task uses

	// extra is nil for most tasks, their whole life; see extra.
	extra atomic.Pointer[extra]

	hint atomic.Uint32 // the executor's number; see Hint
	// inSet: the task is in set's list. Guarded by set.mu; it sits here
	// to fill hint's word.
	inSet bool
	// fetched: the JoinHandle has read the result (a Future is polled to
	// completion once). The handle's field, kept here in hint's word too.
	fetched bool
	// joined: the task is (or was, until Close) in set's list. Read and
	// written only by whoever holds the running bit, or by Add before the
	// task is first queued.
	joined bool

	set        *Set // the Set the task was added to, if any; set before it is queued
	prev, next *Task
}

// body is the typed part of a task (the JoinHandle): polling the future
// and writing the result.
type body interface {
	// poll polls the future and, when it is ready, stores its value. An
	// error ends the task with it (a nil future).
	poll(cx *Context) (bool, error)
	// fail stores err as the result and abandons the future.
	fail(err error)
	// finish, called once the task is complete (s is the state it left),
	// wakes the handle's waker, or forgets the result nobody will read.
	finish(s state)
}

var nextID atomic.Uint64

// New makes a task of f for scheduler s. The task starts notified: the
// caller queues it once (or Runs it); after that s.Schedule is called for
// every wake that finds it idle.
func New[T any](f Future[T], s Scheduler) (*Task, *JoinHandle[T]) {
	h := &JoinHandle[T]{future: f}
	t := &h.task
	t.state = newStateWord(stInitial)
	t.bind(h, s)
	return t, h
}

// bind gives a new task (or a detached task's memory starting its next
// generation) its body and scheduler, and its Context the task's Waker.
func (t *Task) bind(b body, s Scheduler) {
	t.body = b
	t.sched = s
	t.cx.w, t.cx.gen, t.cx.own = t, t.state.load().gen(), true
}

// extra is what few tasks ever need, kept out of the rest: the task's ID,
// drawn the first time one is asked for (one counter shared by every spawn
// on every worker would cost a contended cache line per spawn), and the
// error Shutdown cancelled it with. A record is never changed once
// published: a writer copies it, changes the copy and swaps it in.
type extra struct {
	id  uint64 // 0 until ID is first called
	err error  // Shutdown's; nil means Abort's
}

// ID returns a number unique to the task in this process.
func (t *Task) ID() uint64 {
	for {
		x := t.extra.Load()
		if x != nil && x.id != 0 {
			return x.id
		}
		n := &extra{id: nextID.Inc()}
		if x != nil {
			n.err = x.err
		}
		// Two callers may race to draw one: the first to store wins, and
		// the other's number is never used.
		if t.extra.CompareAndSwap(x, n) {
			return n.id
		}
	}
}

// setCancelErr records err as the error the task is cancelled with, unless
// one is recorded already.
func (t *Task) setCancelErr(err error) {
	for {
		x := t.extra.Load()
		if x != nil && x.err != nil {
			return
		}
		n := &extra{err: err}
		if x != nil {
			n.id = x.id
		}
		if t.extra.CompareAndSwap(x, n) {
			return
		}
	}
}

// Hint returns the number the executor last stored with SetHint (0 at
// first): the runtime keeps there the worker that last ran the task, to
// queue it there again. The task never reads it.
func (t *Task) Hint() uint32 { return t.hint.Load() }

// SetHint stores a number of the executor's choosing with the task.
func (t *Task) SetHint(v uint32) { t.hint.Store(v) }

// Scheduler returns the scheduler the task was made for.
func (t *Task) Scheduler() Scheduler { return t.sched }

// Wake schedules the task: a wake while it runs makes it run once more
// after the poll; a wake while it is queued or complete does nothing.
func (t *Task) Wake() { t.wake(t.state.load().gen()) }

// wake is Wake from a Waker of generation gen.
func (t *Task) wake(gen uint64) {
	if t.state.toNotified(gen) {
		t.sched.Schedule(t)
	}
}

// IsComplete reports whether the task has its result.
func (t *Task) IsComplete() bool { return t.state.load().isComplete() }

// Run polls the task once, on the calling goroutine. The executor calls it
// for each time the task comes out of its run queue. A panic in the future
// ends the task with a *PanicError; it does not reach the caller.
func (t *Task) Run() Outcome { return t.RunWith(nil) }

// RunWith is Run for an executor's thread that keeps Spares: the memory of
// a detached task that completes goes to sp (when not nil), for the
// thread's next NewDetachedFrom.
func (t *Task) RunWith(sp *Spares) Outcome {
	switch t.state.toRunning() {
	case runFailed:
		return Done
	case runCancelled:
		t.cancel()
		return Done
	}
	t.cx.reset()
	ready, perr := t.pollBody()
	if perr != nil {
		t.body.fail(perr)
		t.complete()
		return Done
	}
	if ready {
		if t.complete() {
			if d, ok := t.body.(*detached); ok {
				d.reuse(sp)
			}
		}
		return Done
	}
	if !t.joined && t.set != nil && !t.join() {
		t.cancel() // the set closed: the executor is stopping
		return Done
	}
	switch t.state.toIdle() {
	case idleNotified:
		if t.cx.forced {
			return Exhausted
		}
		return Yielded
	case idleCancelled:
		t.cancel()
		return Done
	}
	return Idle
}

func (t *Task) pollBody() (ready bool, perr error) {
	defer func() {
		if v := recover(); v != nil {
			perr = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return t.body.poll(&t.cx)
}

// cancel ends a task whose future the caller owns (running is set).
func (t *Task) cancel() {
	err := ErrAborted
	if x := t.extra.Load(); x != nil && x.err != nil {
		err = x.err
	}
	t.body.fail(err)
	t.complete()
}

// complete marks the task complete and lets its handle know. It reports
// false when a closing Set has the task in the list it is shutting down,
// so the task's memory must not be reused yet.
func (t *Task) complete() bool {
	s := t.state.toComplete()
	left := true
	if t.joined {
		left = t.set.remove(t)
	}
	t.body.finish(s)
	return left
}

// abort is JoinHandle.Abort.
func (t *Task) abort() {
	if t.state.toNotifiedAndCancelled() {
		t.sched.Schedule(t)
	}
}

// Shutdown cancels the task with err: at once when it is idle (its future
// is dropped on the calling goroutine), or after the poll under way. A task
// already complete keeps its result. Executors call it for each task they
// still hold when they stop.
func (t *Task) Shutdown(err error) {
	if err == nil {
		err = ErrAborted
	}
	t.setCancelErr(err)
	if t.state.toShutdown() {
		t.cancel()
	}
}

// Set is the set of live tasks an executor owns, so it can cancel them all
// when it stops. Adding and removing are O(1) and allocate nothing; a task
// leaves its set by itself when it completes. The zero Set is empty and open.
//
// A task enters its set in one of two ways. Add puts it in at once, before
// it is first queued, so the set holds every task spawned and not complete.
// Watch only names the set; the task puts itself in the first time a poll
// leaves it waiting (while its runner still owns it, so no wake can slip
// between). A task that completes in its first poll never touches the
// set's lock, but the set no longer sees tasks queued for their first
// poll: an executor that uses Watch must Shutdown every task left in its
// queues when it stops, and every task it fails to queue.
type Set struct {
	mu     sync.Mutex
	head   *Task
	n      int
	closed bool
	err    error // Close's; the error of a watched task that waits after it
}

// Watch makes s the set t joins when a poll first leaves it waiting (see
// Set). Call it before t is first queued, instead of Add. The goroutine
// about to Run t may call it again, to move t to another set (an executor
// keeping a set per thread, whose thread took t from another); once t has
// joined its set, Watch does nothing.
func (s *Set) Watch(t *Task) {
	if !t.joined {
		t.set = s
	}
}

// join puts a watched task in its set, whose first poll has just returned
// pending. If the set is closed it records the set's error as the task's
// cancellation and reports false; the caller, the runner, then cancels it.
func (t *Task) join() bool {
	s := t.set
	s.mu.Lock()
	if s.closed {
		err := s.err
		s.mu.Unlock()
		t.setCancelErr(err)
		return false
	}
	s.link(t)
	s.mu.Unlock()
	t.joined = true
	return true
}

// Add puts t in the set. It returns false, leaving t out, once the set is
// closed. Call it before t is first queued, and at most once per task.
func (s *Set) Add(t *Task) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	t.set = s
	t.joined = true
	s.link(t)
	s.mu.Unlock()
	return true
}

// link puts t at the head of the list. mu held.
func (s *Set) link(t *Task) {
	t.inSet = true
	t.prev = nil
	t.next = s.head
	if s.head != nil {
		s.head.prev = t
	}
	s.head = t
	s.n++
}

// remove takes t out of the set. It reports false when Close took it
// first (and is about to Shutdown it).
func (s *Set) remove(t *Task) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.inSet {
		return false
	}
	t.inSet = false
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		s.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.prev, t.next = nil, nil
	s.n--
	return true
}

// Len returns the number of tasks in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Close closes the set, so Add fails from now on and a watched task that
// would wait is cancelled with err instead, and calls Shutdown(err) on
// every task in it.
func (s *Set) Close(err error) {
	s.mu.Lock()
	s.closed = true
	s.err = err
	list := s.head
	s.head = nil
	s.n = 0
	for t := list; t != nil; t = t.next {
		t.inSet = false
	}
	s.mu.Unlock()
	for t := list; t != nil; {
		next := t.next
		t.Shutdown(err)
		t = next
	}
}
