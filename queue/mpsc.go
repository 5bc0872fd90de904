package queue

import "go.uber.org/atomic"

// The readiness queue is Dmitry Vyukov's intrusive multi-producer,
// single-consumer queue (the 1024cores design), shaped as mio 0.6 shaped it:
//
//   - Intrusive: the link lives in the Node, and a Node belongs to one
//     registration for its whole life, so pushing and popping never
//     allocate.
//   - Producers push with one CAS on head; the single consumer pops from
//     tail, which only it touches.
//   - Three marker nodes stand in for states of the queue: end (the stub
//     an empty queue holds), sleep (the consumer is about to block in the
//     kernel: a producer that replaces it must wake it) and closed (the
//     queue is gone: producers leave it alone).
//
// Between a producer's CAS on head and its link from the previous node the
// queue is briefly "inconsistent": the consumer can see a head it cannot
// reach from tail. Dequeue then reports Inconsistent instead of spinning;
// the node is not lost, the next Dequeue finds it.

// Node is one registration's place in a readiness queue.
type Node struct {
	next   atomic.Pointer[Node]
	state  atomic.Uint64    // a State; see state.go
	tokens [3]atomic.Uint64 // token slots; State's read and write pos index them
	queue  atomic.Pointer[Queue]
}

// Outcome says what Dequeue found.
type Outcome int

const (
	// Empty: nothing to dequeue (or only the until node).
	Empty Outcome = iota
	// Data: a node was dequeued.
	Data
	// Inconsistent: a producer is between its CAS and its link. Try again
	// after letting other goroutines run.
	Inconsistent
)

// Queue is a readiness queue: any goroutine may Enqueue, one goroutine at a
// time may Dequeue, PrepareForSleep or Close.
type Queue struct {
	head atomic.Pointer[Node] // producers CAS here
	tail *Node                // the consumer's alone

	end, sleep, closed Node

	// wake is called by the producer whose push replaced the sleep marker:
	// the consumer is, or is about to be, blocked in the kernel.
	wake func()
}

// New returns an empty queue. wake is called, from the producer's
// goroutine, whenever a push finds the consumer asleep.
func New(wake func()) *Queue {
	q := &Queue{wake: wake}
	q.head.Store(&q.end)
	q.tail = &q.end
	return q
}

// Attach makes q the queue n is pushed to. A node's queue does not change
// afterwards; it reports false if n already belongs to another queue.
func (q *Queue) Attach(n *Node) bool {
	return n.queue.CompareAndSwap(nil, q) || n.queue.Load() == q
}

// QueueOf returns the queue n is attached to, or nil.
func QueueOf(n *Node) *Queue { return n.queue.Load() }

// Enqueue pushes n, whose queued flag the caller has just set. It wakes the
// consumer if the push replaced the sleep marker, and reports false if the
// queue is closed (n is then left out, with its queued flag cleared).
func (q *Queue) Enqueue(n *Node) bool {
	prev, ok := q.push(n)
	if !ok {
		n.release()
		return false
	}
	if prev == &q.sleep && q.wake != nil {
		q.wake()
	}
	return true
}

// push links n in at head with one CAS, then links the previous head to
// it. It returns the previous head; ok is false if the queue is closed.
func (q *Queue) push(n *Node) (prev *Node, ok bool) {
	n.next.Store(nil)
	for {
		prev = q.head.Load()
		if prev == &q.closed {
			return nil, false
		}
		if q.head.CompareAndSwap(prev, n) {
			break
		}
	}
	// Between the CAS above and this store the queue is inconsistent.
	prev.next.Store(n)
	return prev, true
}

// Dequeue pops the node at the tail. until, when not nil, is a node the
// consumer pushed back during this drain: meeting it again means the drain
// has gone round once and must stop. Only the consumer may call it.
func (q *Queue) Dequeue(until *Node) (*Node, Outcome) {
	tail := q.tail
	next := tail.next.Load()
	if q.isMarker(tail) {
		if next == nil {
			// Empty. If the sleep marker is still in, the consumer is
			// awake now: take it out, or every push would wake it (mio #785).
			q.clearSleepMarker()
			return nil, Empty
		}
		q.tail = next
		unlink(tail)
		tail = next
		next = next.next.Load()
	}
	if tail == until {
		return nil, Empty
	}
	if next != nil {
		q.tail = next
		unlink(tail)
		return tail, Data
	}
	if q.head.Load() != tail {
		return nil, Inconsistent
	}
	// tail is the last node. Push the end marker behind it so tail can
	// move on and the node can leave.
	if _, ok := q.push(&q.end); !ok {
		return nil, Empty
	}
	if next = tail.next.Load(); next != nil {
		q.tail = next
		unlink(tail)
		return tail, Data
	}
	return nil, Inconsistent
}

// unlink clears the link of a node the consumer has moved past. No producer
// writes it any more (it is not the head), and a stale link would keep the
// nodes behind it alive: a live registration could hold on to a chain of
// closed ones.
func unlink(n *Node) { n.next.Store(nil) }

func (q *Queue) isMarker(n *Node) bool {
	return n == &q.end || n == &q.sleep || n == &q.closed
}

// PrepareForSleep installs the sleep marker if the queue is empty and
// reports whether it did (or it was already in): the consumer may then
// block in the kernel, and the next push will wake it. false means the queue
// has nodes: poll the kernel without blocking instead. Only the consumer may
// call it.
func (q *Queue) PrepareForSleep() bool {
	if q.tail == &q.sleep {
		return q.head.Load() == &q.sleep
	}
	if q.tail != &q.end {
		return false
	}
	// The sleep marker is out of the queue (tail is end), so its link may
	// be reset. It goes in only here, only in place of end at head.
	q.sleep.next.Store(nil)
	if !q.head.CompareAndSwap(&q.end, &q.sleep) {
		return false // a node came in behind end
	}
	q.tail = &q.sleep
	return true
}

// clearSleepMarker swaps the sleep marker back for the end marker if the
// queue holds nothing else.
func (q *Queue) clearSleepMarker() {
	if q.tail != &q.sleep {
		return
	}
	q.end.next.Store(nil)
	if !q.head.CompareAndSwap(&q.sleep, &q.end) {
		return // a node is behind the sleep marker; Dequeue will pass it
	}
	q.tail = &q.end
}

// IsSleeping reports whether the sleep marker is installed (for tests).
func (q *Queue) IsSleeping() bool { return q.head.Load() == &q.sleep }

// Close shuts the queue: from now on pushes are refused, and the nodes
// still queued are let go of, their queued flags cleared. Only the consumer
// may call it, once.
func (q *Queue) Close() {
	last := q.head.Swap(&q.closed)
	if last == &q.closed {
		return
	}
	// Walk from tail to the last node pushed before the swap. A producer
	// may still be between its CAS and its link; wait for the link, which
	// is a few instructions away.
	for n := q.tail; n != nil && n != last; {
		next := n.next.Load()
		for next == nil {
			yield()
			next = n.next.Load()
		}
		if !q.isMarker(n) {
			n.release()
		}
		n = next
	}
	if !q.isMarker(last) {
		last.release()
	}
	q.tail = &q.closed
}
