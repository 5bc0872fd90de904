package queue

import (
	"sync"

	"go.uber.org/atomic"
)

// The inject queue is the runtime's one global run queue: tasks spawned
// from outside a worker land here, and so does the overflow of a worker's
// full ring (local.go). Every worker looks at it, so it is multi-producer
// and multi-consumer.
//
// It is a ring buffer behind a mutex, not a lock-free list, because of how
// it is used:
//
//   - Traffic is light. A worker takes from its own ring first and looks
//     here only every so many ticks or when its ring is empty, and it then
//     takes a batch (PopBatch) into its ring. Producers are outside
//     goroutines and overflowing workers, which push 129 tasks at a time.
//     One lock per batch is cheap; a lock-free MPMC queue would pay an
//     atomic per task instead.
//   - Emptiness is asked on every tick. So the length is mirrored in an
//     atomic word, stored under the lock and loaded without it: Len and
//     IsEmpty are one load, and Pop on an empty queue takes no lock.
//   - No allocation in steady state. The ring starts at 256 slots (or what
//     NewInject asks for), doubles when a push would not fit, and never
//     shrinks: after warm-up it is as large as the largest backlog seen,
//     8 bytes a slot, and push and pop allocate nothing. Popped slots are
//     set to nil so the ring keeps no finished task alive.
//
// Close is for shutdown: it turns new submissions away (Push and PushBatch
// return false, so the spawner learns the runtime is going) and Drain takes
// out what is left. A worker's overflow is not a new submission: those
// tasks belong to the runtime already, and Local.Push has no one to hand a
// refusal to, so overflow goes in even after Close. The runtime stops its
// workers before its last Drain.

// defaultInjectCapacity is the ring size of a zero Inject: two worker
// overflows (129 tasks each) fit before the first doubling.
const defaultInjectCapacity = 256

// Inject is the global run queue: a multi-producer, multi-consumer FIFO of
// tasks, safe for use by any number of goroutines. The zero value is an
// empty, open queue.
//
// Len and IsEmpty cost one atomic load and are only a snapshot: a push or
// pop may land just after. A waker must not rely on IsEmpty alone to decide
// that no worker needs waking.
type Inject[T any] struct {
	mu   sync.Mutex
	buf  []*T // the ring, under mu; len(buf) is 0 (nothing pushed yet) or a power of two
	head int  // under mu: index in buf of the oldest task
	n    int  // under mu: tasks in buf

	// length mirrors n: stored under mu at the end of every critical
	// section that changes n, loaded by anyone without mu. A reader gets n
	// as of the last critical section to finish; one running now may be
	// about to change it either way.
	length atomic.Int64

	// closed is false until Close, true after; it never goes back. Close
	// sets it under mu, so a Push that took the lock after Close returned
	// sees it and refuses.
	closed atomic.Bool
}

// NewInject returns an empty inject queue whose ring starts with room for
// capacity tasks, rounded up to a power of two, or 256 if capacity is not
// positive (as a zero Inject does). The ring doubles when a push would not
// fit, and never shrinks.
func NewInject[T any](capacity int) *Inject[T] {
	if capacity <= 0 {
		capacity = defaultInjectCapacity
	}
	size := 1
	for size < capacity {
		size *= 2
	}
	return &Inject[T]{buf: make([]*T, size)}
}

// Push appends t. It reports false, and leaves t out, if the queue has
// been closed: the runtime is shutting down.
func (q *Inject[T]) Push(t *T) bool {
	q.mu.Lock()
	if q.closed.Load() {
		q.mu.Unlock()
		return false
	}
	q.reserve(1)
	q.buf[q.slot(q.n)] = t
	q.n++
	q.length.Store(int64(q.n))
	q.mu.Unlock()
	return true
}

// PushBatch appends every task in ts, in order, under one acquisition of
// the lock. It reports false, and takes none of them, if the queue has
// been closed. ts is only read; the caller keeps it.
func (q *Inject[T]) PushBatch(ts []*T) bool {
	q.mu.Lock()
	if q.closed.Load() {
		q.mu.Unlock()
		return false
	}
	q.reserve(len(ts))
	tail := q.slot(q.n)
	k := copy(q.buf[tail:], ts)
	copy(q.buf, ts[k:]) // the part that wraps round to the start
	q.n += len(ts)
	q.length.Store(int64(q.n))
	q.mu.Unlock()
	return true
}

// pushFromRing moves n tasks out of a worker's ring, from index first on,
// and then last, under one acquisition of the lock; each ring slot it
// empties is set to nil. Local.Push calls it on overflow, after claiming
// those slots, so no other goroutine reads or writes them meanwhile. last
// may be nil when n > 0 (it is then left out). It ignores Close: see the
// top of this file.
func (q *Inject[T]) pushFromRing(ring *[LocalCapacity]*T, first, n uint32, last *T) {
	q.mu.Lock()
	q.reserve(int(n) + 1)
	for i := range n {
		from := &ring[(first+i)&localMask]
		q.buf[q.slot(q.n)] = *from
		*from = nil
		q.n++
	}
	if last != nil {
		q.buf[q.slot(q.n)] = last
		q.n++
	}
	q.length.Store(int64(q.n))
	q.mu.Unlock()
}

// Pop removes and returns the oldest task, or nil if there is none. On an
// empty queue it takes no lock.
func (q *Inject[T]) Pop() *T {
	if q.IsEmpty() {
		return nil
	}
	q.mu.Lock()
	if q.n == 0 {
		q.mu.Unlock()
		return nil
	}
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = q.slot(1)
	q.n--
	q.length.Store(int64(q.n))
	q.mu.Unlock()
	return t
}

// PopBatch removes up to len(dst) of the oldest tasks into dst, oldest
// first, under one acquisition of the lock, and returns how many it took.
// On an empty queue it takes no lock.
func (q *Inject[T]) PopBatch(dst []*T) int {
	if len(dst) == 0 || q.IsEmpty() {
		return 0
	}
	q.mu.Lock()
	k := min(len(dst), q.n)
	if k == 0 {
		q.mu.Unlock()
		return 0
	}
	// The k oldest tasks are buf[head:] up to the end of buf, then buf[0:].
	front := q.buf[q.head:min(q.head+k, len(q.buf))]
	wrapped := q.buf[:k-len(front)]
	copy(dst, front)
	copy(dst[len(front):], wrapped)
	clear(front)
	clear(wrapped)
	q.head = q.slot(k)
	q.n -= k
	q.length.Store(int64(q.n))
	q.mu.Unlock()
	return k
}

// Len returns the number of queued tasks, from one atomic load.
func (q *Inject[T]) Len() int { return int(q.length.Load()) }

// IsEmpty reports whether the queue holds no task, from one atomic load.
func (q *Inject[T]) IsEmpty() bool { return q.length.Load() == 0 }

// Close turns away later Push and PushBatch calls: they return false. The
// tasks already queued stay for Pop or Drain. Closing twice is harmless.
func (q *Inject[T]) Close() {
	q.mu.Lock()
	q.closed.Store(true)
	q.mu.Unlock()
}

// IsClosed reports whether Close has been called.
func (q *Inject[T]) IsClosed() bool { return q.closed.Load() }

// Drain pops every task and hands each to fn, oldest first, until the
// queue is empty. fn runs without the lock held, so it may push; a task it
// pushes is drained too.
func (q *Inject[T]) Drain(fn func(*T)) {
	for t := q.Pop(); t != nil; t = q.Pop() {
		fn(t)
	}
}

// slot returns the index in buf of the i-th task from the head. mu held,
// buf not empty.
func (q *Inject[T]) slot(i int) int { return (q.head + i) & (len(q.buf) - 1) }

// reserve makes room for k more tasks, doubling the ring as often as
// needed; the tasks keep their order and move to the start of the new
// ring. mu held.
func (q *Inject[T]) reserve(k int) {
	if q.n+k <= len(q.buf) {
		return
	}
	size := len(q.buf)
	if size == 0 {
		size = defaultInjectCapacity
	}
	for size < q.n+k {
		size *= 2
	}
	buf := make([]*T, size)
	if q.n > 0 {
		front := q.buf[q.head:min(q.head+q.n, len(q.buf))]
		copy(buf, front)
		copy(buf[len(front):], q.buf[:q.n-len(front)])
	}
	q.buf, q.head = buf, 0
}
