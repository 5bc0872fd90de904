package queue

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"
)

func drainAll(q *Queue) []*Node {
	var out []*Node
	for {
		n, o := q.Dequeue(nil)
		switch o {
		case Data:
			out = append(out, n)
		case Inconsistent:
			yield()
		case Empty:
			return out
		}
	}
}

func TestQueueIsFIFO(t *testing.T) {
	q := New(nil)
	nodes := make([]Node, 5)
	for i := range nodes {
		require.True(t, q.Enqueue(&nodes[i]))
	}
	got := drainAll(q)
	require.Len(t, got, 5)
	for i := range nodes {
		require.Same(t, &nodes[i], got[i])
	}
	n, o := q.Dequeue(nil)
	require.Nil(t, n)
	require.Equal(t, Empty, o)
}

func TestQueueReusesNodes(t *testing.T) {
	q := New(nil)
	var a, b Node
	for range 100 {
		q.Enqueue(&a)
		q.Enqueue(&b)
		got := drainAll(q)
		require.Equal(t, []*Node{&a, &b}, got)
	}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		q.Enqueue(&a)
		q.Enqueue(&b)
		q.Dequeue(nil)
		q.Dequeue(nil)
		q.Dequeue(nil)
	}))
}

func TestDequeueStopsAtUntil(t *testing.T) {
	q := New(nil)
	var a, b Node
	q.Enqueue(&a)
	q.Enqueue(&b)
	n, _ := q.Dequeue(nil)
	require.Same(t, &a, n)
	q.Enqueue(&a) // requeued by the consumer: until
	n, _ = q.Dequeue(&a)
	require.Same(t, &b, n)
	n, o := q.Dequeue(&a)
	require.Nil(t, n)
	require.Equal(t, Empty, o)
	// Next drain starts with it.
	n, _ = q.Dequeue(nil)
	require.Same(t, &a, n)
}

func TestSleepMarkerWakesTheFirstPushOnly(t *testing.T) {
	var wakes atomic.Int32
	q := New(func() { wakes.Inc() })
	require.True(t, q.PrepareForSleep())
	require.True(t, q.IsSleeping())
	require.True(t, q.PrepareForSleep(), "still asleep, still empty")
	var a, b Node
	q.Enqueue(&a)
	q.Enqueue(&b)
	require.Equal(t, int32(1), wakes.Load(), "only the push that replaced the sleep marker wakes")
	require.False(t, q.PrepareForSleep(), "not empty: no sleeping")
	require.Len(t, drainAll(q), 2)
}

// mio #785: once the consumer is awake and drains an empty queue, the sleep
// marker must go, or every later push pays for a wake-up.
func TestEmptyDrainClearsTheSleepMarker(t *testing.T) {
	var wakes atomic.Int32
	q := New(func() { wakes.Inc() })
	require.True(t, q.PrepareForSleep())
	// The consumer woke for some other reason and drains: nothing there.
	_, o := q.Dequeue(nil)
	require.Equal(t, Empty, o)
	require.False(t, q.IsSleeping())
	var a Node
	for range 10 {
		q.Enqueue(&a)
		drainAll(q)
	}
	require.Zero(t, wakes.Load())
}

// mio #570: the sleep marker must only ever go in where the end marker was,
// never behind a node, or the queue's links get corrupted.
func TestSleepMarkerNeverGoesInBehindANode(t *testing.T) {
	q := New(nil)
	var a Node
	q.Enqueue(&a)
	require.False(t, q.PrepareForSleep())
	n, _ := q.Dequeue(nil)
	require.Same(t, &a, n)
	// a was the last node: Dequeue pushed the end marker behind it.
	_, o := q.Dequeue(nil)
	require.Equal(t, Empty, o)
	require.True(t, q.PrepareForSleep())
	q.Enqueue(&a)
	require.Equal(t, []*Node{&a}, drainAll(q))
}

// A producer between its CAS on head and its link: the consumer reports
// Inconsistent, does not spin, and finds the node once it is linked.
func TestInconsistentQueueLosesNothing(t *testing.T) {
	q := New(nil)
	var a, b Node
	q.Enqueue(&a)
	// Half a push of b: the CAS, not the link.
	b.next.Store(nil)
	prev := q.head.Load()
	require.True(t, q.head.CompareAndSwap(prev, &b))

	n, o := q.Dequeue(nil)
	require.Equal(t, Inconsistent, o)
	require.Nil(t, n)
	prev.next.Store(&b) // the producer finishes
	require.Equal(t, []*Node{&a, &b}, drainAll(q))
}

func TestCloseRefusesPushesAndReleasesNodes(t *testing.T) {
	q := New(nil)
	var a, b Node
	a.Update(1, readable, false, false)
	b.Update(2, readable, false, false)
	require.True(t, set(&a, readable))
	require.True(t, q.Enqueue(&a))
	q.Close()
	require.False(t, a.Load().IsQueued(), "a closed queue lets go of its nodes")
	require.True(t, set(&b, readable))
	require.False(t, q.Enqueue(&b), "closed: the producer does nothing")
	require.False(t, b.Load().IsQueued())
	q.Close() // a second close is harmless
}

func TestAttachOnce(t *testing.T) {
	q1, q2 := New(nil), New(nil)
	var n Node
	require.Nil(t, QueueOf(&n))
	require.True(t, q1.Attach(&n))
	require.True(t, q1.Attach(&n))
	require.False(t, q2.Attach(&n))
	require.Same(t, q1, QueueOf(&n))
}

// Many producers setting readiness on shared nodes, one consumer: every
// node whose last Set came after its last dequeue is seen again, and no
// node is ever in the queue twice.
func TestManyProducersOneConsumer(t *testing.T) {
	q := New(nil)
	const nodes = 64
	ns := make([]Node, nodes)
	index := map[*Node]int{}
	for i := range ns {
		ns[i].Update(uint64(i), readable, false, false)
		index[&ns[i]] = i
	}
	var inQueue [nodes]atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (i*7 + p) % nodes
				if set(&ns[k], readable) {
					if inQueue[k].Inc() != 1 {
						t.Errorf("node %d queued twice", k)
					}
					q.Enqueue(&ns[k])
				}
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	seen := 0
	for time.Now().Before(deadline) {
		n, o := q.Dequeue(nil)
		switch o {
		case Data:
			// Out of the queue now; only then may its flag be cleared.
			inQueue[index[n]].Dec()
			n.Dequeued()
			seen++
		case Inconsistent:
			yield()
		}
	}
	close(stop)
	wg.Wait()
	for {
		n, o := q.Dequeue(nil)
		if o == Empty {
			break
		}
		if o == Data {
			inQueue[index[n]].Dec()
			n.Dequeued()
		} else {
			yield()
		}
	}
	for i := range inQueue {
		require.Zero(t, inQueue[i].Load(), "node %d left in limbo", i)
		require.False(t, ns[i].Load().IsQueued(), "node %d still marked queued", i)
	}
	require.NotZero(t, seen)
}

// A node the consumer has moved past keeps no link: a stale one would keep
// every node behind it alive.
func TestDequeuedNodesKeepNoLinks(t *testing.T) {
	q := New(nil)
	var a, b, c Node
	q.Enqueue(&a)
	q.Enqueue(&b)
	q.Enqueue(&c)
	require.Equal(t, []*Node{&a, &b, &c}, drainAll(q))
	for _, n := range []*Node{&a, &b, &c, &q.sleep} {
		require.Nil(t, n.next.Load())
	}
}
