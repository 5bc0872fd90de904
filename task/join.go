package task

import "context"

// JoinHandle is the spawner's side of a task: a Future of the task's
// Result, a Wait for ordinary goroutines, Abort, and Detach. It is also the
// task's memory (the Task, the future, the result), so a spawn allocates
// once. Dropping a handle (forgetting it, or Detach) never stops the task.
//
// One goroutine at a time may Poll or Wait on a handle; Abort, Detach and
// IsFinished may be called from anywhere.
type JoinHandle[T any] struct {
	task   Task
	future Future[T]
	result Result[T]
	// joinWaker belongs to the handle while the state's join waker bit is
	// clear and to the task while it is set; see state.go.
	joinWaker Waker
}

func (h *JoinHandle[T]) poll(cx *Context) (bool, error) {
	if h.future == nil {
		return false, ErrNilFuture
	}
	v, ok := h.future.Poll(cx)
	if ok {
		h.result.Value = v
		h.future = nil
	}
	return ok, nil
}

func (h *JoinHandle[T]) fail(err error) {
	f := h.future
	h.future = nil
	h.result.Err = err
	if f != nil {
		dropQuietly(f)
	}
}

// dropQuietly drops f (a Future of any type) if it is a Dropper; a panic
// in its Drop is not the caller's problem.
func dropQuietly(f any) {
	if d, ok := f.(Dropper); ok {
		defer func() { _ = recover() }()
		d.Drop()
	}
}

func (h *JoinHandle[T]) finish(s state) {
	if !s.hasJoinInterest() {
		var zero Result[T]
		h.result = zero
		return
	}
	if s.hasJoinWaker() {
		h.joinWaker.Wake()
	}
}

// Task returns the handle's task, for executors.
func (h *JoinHandle[T]) Task() *Task { return &h.task }

// ID returns the task's ID.
func (h *JoinHandle[T]) ID() uint64 { return h.task.ID() }

// IsFinished reports whether the task has its result.
func (h *JoinHandle[T]) IsFinished() bool { return h.task.IsComplete() }

// Abort cancels the task: an idle task ends soon even if nothing wakes it,
// a running one after its poll. Its result's error is then ErrAborted,
// unless it completed first. Aborting twice, or a finished task, does
// nothing.
func (h *JoinHandle[T]) Abort() { h.task.abort() }

// Detach gives up the result: the task runs on, and its result is dropped
// when it completes. Poll and Wait must not be used afterwards.
func (h *JoinHandle[T]) Detach() {
	if h.task.state.dropJoinInterest() {
		var zero Result[T]
		h.result = zero
	}
}

// Poll makes the handle a Future of the task's Result.
func (h *JoinHandle[T]) Poll(cx *Context) (Result[T], bool) {
	if h.task.fetched || h.canReadResult(cx.Waker()) {
		h.task.fetched = true
		return h.result, true
	}
	return Result[T]{}, false
}

// canReadResult reports whether the task is complete; if not, it leaves w
// to be woken when it is.
func (h *JoinHandle[T]) canReadResult(w Waker) bool {
	s := h.task.state.load()
	if s.isComplete() {
		return true
	}
	if s.hasJoinWaker() {
		if h.joinWaker.WillWake(w) {
			return false
		}
		if !h.task.state.unsetJoinWaker() {
			return true
		}
	}
	h.joinWaker = w
	return !h.task.state.setJoinWaker()
}

// Wait blocks the calling goroutine until the task completes and returns
// its value and error. Call it from ordinary goroutines, not from a task's
// Poll: a task awaits the handle as a Future instead.
func (h *JoinHandle[T]) Wait() (T, error) {
	r, _ := Block(context.Background(), Future[Result[T]](h))
	return r.Value, r.Err
}

// WaitContext is Wait that gives up when ctx is done, returning ctx's error.
// The task goes on; Wait again or Abort it.
func (h *JoinHandle[T]) WaitContext(ctx context.Context) (T, error) {
	r, err := Block(ctx, Future[Result[T]](h))
	if err != nil {
		var zero T
		return zero, err
	}
	return r.Value, r.Err
}
