package queue

import "go.uber.org/atomic"

// The local queue is a worker's own run queue, shaped like tokio's
// (runtime/scheduler/multi_thread/queue.rs): a fixed ring of 256 task
// pointers that one worker, its owner, pushes to and pops from, and that
// idle workers steal from.
//
//   - Bounded, so pushing never allocates and a worker's backlog stays
//     small enough to share. 256 is tokio's number: enough that a busy
//     worker rarely overflows, small enough that half of it is a short copy.
//   - When the ring is full, Push moves the older half (128 tasks) and the
//     new task to the inject queue in one batch, under one lock: the next
//     128 pushes are then cheap again, and the moved tasks are where every
//     worker can see them.
//   - The owner pops from the head, as thieves do, so the queue is FIFO and
//     no task waits behind an endless stream of newer ones. (A LIFO slot
//     for the most recently woken task, if the runtime wants one, lives
//     outside this ring.)
//   - A thief takes half of what it finds, rounding up so a lone task can
//     be stolen: enough to keep it busy for a while, leaving the owner
//     enough to do the same.
//
// The head is two indices in one word (see heads below). A thief claims a
// batch by moving the "next" index past it with one CAS, leaving the
// "steal" index behind at the batch's start; while the two differ the
// thief is copying, and the owner must not write the slots between them.
// When the copy is done the thief sets steal to next, giving the slots
// back. So a steal is two CASes whatever its size, and the owner's Pop,
// one CAS, goes on meanwhile from the next index. One thief at a time per
// queue: a second that finds a steal in progress gives up.
//
// The slots are plain pointers, not atomics. Every read and write of a
// slot is ordered by the heads and tail words (see "who touches a slot"
// beside buf), which is what makes the ring correct; plain slots let the
// race detector check that ordering instead of hiding a mistake in it.
//
// Indices are free-running uint32s; a slot is index mod 256. Differences
// are taken in unsigned arithmetic, so wrapping past 2^32 is harmless: two
// live indices are never more than 256 apart. (A thief that stalls between
// loading heads and its CAS while the owner runs 2^32 tasks could be fooled
// by the CAS; tokio accepts the same.)

// LocalCapacity is the number of tasks a Local holds.
const LocalCapacity = 256

const (
	localMask = LocalCapacity - 1

	// overflowHalf is how many of a full ring's oldest tasks Push moves to
	// the inject queue, with the task that did not fit.
	overflowHalf = LocalCapacity / 2
)

// Local is a worker's run queue: a ring of LocalCapacity tasks that only
// its owner pushes to and pops from, and that other workers steal from
// with StealInto. The zero value is an empty queue. Nothing it does
// allocates, but an overflow may grow the inject queue it moves tasks to.
//
// Push, PushBatch and Pop are for the owner only, and StealInto only for
// the owner of dst; Len and IsEmpty are for anyone.
type Local[T any] struct {
	// heads packs the two head indices, so that one CAS can claim a batch
	// and mark it in flight:
	//
	//	bits  0-31  next   the oldest unclaimed task; [next, tail) are the
	//	                   tasks anyone may claim
	//	bits 32-63  steal  the first slot a thief is still copying; equal
	//	                   to next when no steal is in progress, and while
	//	                   it differs [steal, next) belongs to that thief
	//
	// Transitions, each one CAS:
	//
	//	Pop (owner)             (s, n) -> (s, n+1), or (n+1, n+1) if s == n
	//	Push overflow (owner)   (n, n) -> (n+128, n+128)
	//	steal claim (thief)     (n, n) -> (n, n+k), 1 <= k <= 128
	//	steal release (thief)   (s, n) -> (n, n)
	//
	// Only a thief makes steal differ from next, and only that thief puts
	// them back together; the owner's Pop meanwhile moves next alone, and
	// a claim or overflow needs them equal. The ring is full when
	// tail - steal == 256: slots being copied are not free.
	heads atomic.Uint64

	// tail is one past the newest task. Only the owner stores it (Push,
	// PushBatch, and StealInto into its own ring), after writing the slots
	// it publishes; thieves load it before claiming. tail - steal <= 256.
	tail atomic.Uint32

	// buf holds the tasks; index i lives in buf[i mod 256]. Who touches a
	// slot, and why they cannot collide:
	//
	//   - The owner writes slot tail only when tail - steal < 256, that is
	//     once every claimant of the task 256 before it has let go (a
	//     thief releases only after clearing), and publishes it by storing
	//     tail.
	//   - A claimant (the owner in Pop or on overflow, a thief in
	//     StealInto) reads a slot only after its CAS on heads has moved
	//     next past it, and it is the only one that did: nobody else reads
	//     that slot again.
	//   - The claimant, and no one else, sets the slot to nil once it has
	//     read it, so the ring does not keep finished tasks alive. Pop
	//     clears at once; a thief clears before its release CAS, for the
	//     release is what lets the owner write the slot again. A thief that
	//     cleared after releasing could erase a task the owner had just
	//     pushed there.
	buf [LocalCapacity]*T
}

func packHeads(steal, next uint32) uint64 { return uint64(steal)<<32 | uint64(next) }

func unpackHeads(h uint64) (steal, next uint32) { return uint32(h >> 32), uint32(h) }

// Push appends t; only the owner may call it. If the ring is full it moves
// the 128 oldest tasks and t to overflow in one batch; if a thief is
// copying out of the ring just then, so half cannot be claimed, it pushes
// t alone to overflow. It never blocks and never drops a task: overflow
// takes the tasks even when closed (see inject.go). overflow must not be
// nil.
func (q *Local[T]) Push(t *T, overflow *Inject[T]) {
	tail := q.tail.Load()
	for {
		heads := q.heads.Load()
		steal, next := unpackHeads(heads)
		if tail-steal < LocalCapacity {
			q.buf[tail&localMask] = t
			q.tail.Store(tail + 1)
			return
		}
		if steal != next {
			// Full, and a thief is copying: it will free slots soon, but
			// the owner does not wait for another worker.
			overflow.pushFromRing(&q.buf, 0, 0, t)
			return
		}
		// Full, nobody stealing: claim the older half for the inject queue.
		// The CAS is the owner's transition (n, n) -> (n+128, n+128).
		if q.heads.CompareAndSwap(heads, packHeads(next+overflowHalf, next+overflowHalf)) {
			overflow.pushFromRing(&q.buf, next, overflowHalf, t)
			return
		}
		// A thief claimed a batch first. Go round: the ring has room once
		// it releases, and until then the task goes to overflow alone.
	}
}

// PushBatch appends as many tasks from ts as fit, in order, and returns
// how many it took; the rest are the caller's still. Only the owner may
// call it. A worker uses it to move a batch from the inject queue into its
// ring. ts is only read.
func (q *Local[T]) PushBatch(ts []*T) int {
	steal, _ := unpackHeads(q.heads.Load())
	tail := q.tail.Load()
	k := min(uint32(len(ts)), LocalCapacity-(tail-steal))
	for i := range k {
		q.buf[(tail+i)&localMask] = ts[i]
	}
	if k > 0 {
		q.tail.Store(tail + k)
	}
	return int(k)
}

// Pop removes and returns the oldest task, or nil if the ring is empty.
// Only the owner may call it. It goes on while a thief is copying: the
// thief's batch is behind the head already.
func (q *Local[T]) Pop() *T {
	tail := q.tail.Load()
	heads := q.heads.Load()
	for {
		steal, next := unpackHeads(heads)
		if next == tail {
			return nil
		}
		// Pop's transition: (s, n) -> (s, n+1), or (n+1, n+1) with no
		// steal in progress.
		want := packHeads(steal, next+1)
		if steal == next {
			want = packHeads(next+1, next+1)
		}
		if q.heads.CompareAndSwap(heads, want) {
			slot := &q.buf[next&localMask]
			t := *slot
			*slot = nil
			return t
		}
		heads = q.heads.Load()
	}
}

// StealInto takes half of q's tasks, rounding up, for the worker that owns
// dst (and only that worker may call it): it returns the oldest of them,
// for the thief to run now, and appends the rest to dst. It returns nil if
// q is empty, if another thief is stealing from q, or if q is dst.
//
// The caller normally steals only into an empty dst; if dst is not empty,
// StealInto takes no more than dst has room for, plus the one it returns.
func (q *Local[T]) StealInto(dst *Local[T]) *T {
	if q == dst {
		return nil
	}
	// Room in dst. Another thief may be copying out of dst; its slots are
	// not free yet, so count from dst's steal index. A stale load only
	// makes the room look smaller.
	dstSteal, _ := unpackHeads(dst.heads.Load())
	dstTail := dst.tail.Load()
	room := LocalCapacity - (dstTail - dstSteal)

	// Claim: the thief's transition (n, n) -> (n, n+k).
	var first, k uint32
	heads := q.heads.Load()
	for {
		steal, next := unpackHeads(heads)
		if steal != next {
			return nil // another thief is copying
		}
		// tail is loaded after heads, so tail >= next.
		avail := q.tail.Load() - next
		k = min(avail-avail/2, room+1)
		if k == 0 {
			return nil
		}
		if q.heads.CompareAndSwap(heads, packHeads(steal, next+k)) {
			first = next
			break
		}
		heads = q.heads.Load()
	}

	// Copy out [first, first+k), clearing each slot behind us. The owner
	// cannot write these slots until the release below.
	slot := &q.buf[first&localMask]
	t := *slot
	*slot = nil
	for i := uint32(1); i < k; i++ {
		slot = &q.buf[(first+i)&localMask]
		dst.buf[(dstTail+i-1)&localMask] = *slot
		*slot = nil
	}

	// Release: (first, n) -> (n, n). The owner may have popped meanwhile,
	// moving next on, so retry with what is there; no one else changes
	// heads while steal != next.
	heads = packHeads(first, first+k)
	for {
		_, next := unpackHeads(heads)
		if q.heads.CompareAndSwap(heads, packHeads(next, next)) {
			break
		}
		heads = q.heads.Load()
	}

	if k > 1 {
		dst.tail.Store(dstTail + k - 1)
	}
	return t
}

// Len returns the number of tasks in the ring not yet claimed. Anyone may
// call it; from a goroutine other than the owner it is a snapshot, a
// little stale.
func (q *Local[T]) Len() int {
	_, next := unpackHeads(q.heads.Load())
	tail := q.tail.Load() // after heads, so tail >= next
	return int(min(tail-next, LocalCapacity))
}

// IsEmpty reports whether the ring has no unclaimed task; like Len, a
// snapshot when not called by the owner.
func (q *Local[T]) IsEmpty() bool { return q.Len() == 0 }
