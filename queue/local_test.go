package queue

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"
)

// task stands in for the runtime's task in the run-queue tests.
type task struct{ id int }

func newTasks(n int) []*task {
	ts := make([]*task, n)
	for i := range ts {
		ts[i] = &task{id: i}
	}
	return ts
}

func popAll(q *Local[task]) []*task {
	var out []*task
	for t := q.Pop(); t != nil; t = q.Pop() {
		out = append(out, t)
	}
	return out
}

func drainInject(q *Inject[task]) []*task {
	var out []*task
	q.Drain(func(t *task) { out = append(out, t) })
	return out
}

func requireSlotsCleared(t *testing.T, q *Local[task]) {
	t.Helper()
	for i, s := range q.buf {
		require.Nil(t, s, "slot %d still holds a task", i)
	}
}

func ExampleLocal() {
	var ring Local[task]
	overflow := NewInject[task](0)
	for i := range 3 {
		ring.Push(&task{id: i}, overflow)
	}

	// An idle worker steals half (rounding up): it runs one at once and
	// keeps the rest in its own ring.
	var thief Local[task]
	first := ring.StealInto(&thief)
	fmt.Println("stolen:", first.id, "then", thief.Pop().id)
	fmt.Println("owner keeps:", ring.Pop().id, ring.Pop())
	// Output:
	// stolen: 0 then 1
	// owner keeps: 2 <nil>
}

func TestLocalIsFIFO(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	ts := newTasks(10)
	for _, tk := range ts {
		q.Push(tk, inj)
	}
	require.Equal(t, ts, popAll(&q))
	require.Nil(t, q.Pop())
	require.True(t, inj.IsEmpty())
}

func TestLocalLenCountsUnclaimedTasks(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	require.Zero(t, q.Len())
	require.True(t, q.IsEmpty())
	for i, tk := range newTasks(LocalCapacity) {
		q.Push(tk, inj)
		require.Equal(t, i+1, q.Len())
	}
	require.False(t, q.IsEmpty())
	q.Pop()
	q.Pop()
	require.Equal(t, LocalCapacity-2, q.Len())
	var thief Local[task]
	require.NotNil(t, q.StealInto(&thief)) // 127 of 254
	require.Equal(t, LocalCapacity-2-127, q.Len())
	require.Equal(t, 126, thief.Len())
}

// The 257th push finds the ring full: the 128 oldest tasks and the new one
// go to the inject queue in order, the 128 newest stay, and every task
// comes out exactly once.
func TestLocalFullRingMovesHalfAndTheNewTaskToInject(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	ts := newTasks(LocalCapacity + 1)
	for _, tk := range ts[:LocalCapacity] {
		q.Push(tk, inj)
	}
	require.Equal(t, LocalCapacity, q.Len())
	require.True(t, inj.IsEmpty())

	q.Push(ts[LocalCapacity], inj)
	require.Equal(t, LocalCapacity/2, q.Len())
	require.Equal(t, LocalCapacity/2+1, inj.Len())
	for i := range LocalCapacity / 2 {
		require.Nil(t, q.buf[i], "slot %d moved out but not cleared", i)
	}

	injected := drainInject(inj)
	require.Equal(t, ts[:LocalCapacity/2], injected[:LocalCapacity/2])
	require.Same(t, ts[LocalCapacity], injected[LocalCapacity/2])
	require.Equal(t, ts[LocalCapacity/2:LocalCapacity], popAll(&q))
	requireSlotsCleared(t, &q)

	// Room again: the next push stays in the ring.
	q.Push(ts[0], inj)
	require.Equal(t, 1, q.Len())
	require.True(t, inj.IsEmpty())
}

// fakeStealInProgress puts q in the state a thief leaves between its claim
// and its release: [next, next+k) claimed, steal still at next.
func fakeStealInProgress(q *Local[task], k uint32) (release func()) {
	steal, next := unpackHeads(q.heads.Load())
	if steal != next {
		panic("a steal is already in progress")
	}
	q.heads.Store(packHeads(next, next+k))
	return func() {
		_, now := unpackHeads(q.heads.Load())
		q.heads.Store(packHeads(now, now))
	}
}

// A full ring whose older slots a thief is still copying cannot give up
// half: the new task goes to the inject queue alone, and once the thief is
// done the ring has room again.
func TestLocalFullRingDuringStealOverflowsTheNewTaskAlone(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	ts := newTasks(LocalCapacity + 2)
	for _, tk := range ts[:LocalCapacity] {
		q.Push(tk, inj)
	}
	release := fakeStealInProgress(&q, 10)

	q.Push(ts[LocalCapacity], inj)
	require.Equal(t, 1, inj.Len())
	require.Same(t, ts[LocalCapacity], inj.Pop())
	require.Equal(t, LocalCapacity-10, q.Len())

	// The faked thief takes its ten, as a real one would, then releases.
	for i := range 10 {
		q.buf[i] = nil
	}
	release()
	q.Push(ts[LocalCapacity+1], inj)
	require.True(t, inj.IsEmpty())
	require.Equal(t, LocalCapacity-9, q.Len())
	require.Equal(t, append(ts[10:LocalCapacity:LocalCapacity], ts[LocalCapacity+1]), popAll(&q))
}

// The owner pops on while a thief copies, moving only next; a second thief
// gives up.
func TestLocalStealInProgressLetsOwnerPopAndTurnsOtherThievesAway(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	ts := newTasks(20)
	for _, tk := range ts {
		q.Push(tk, inj)
	}
	release := fakeStealInProgress(&q, 10)

	require.Same(t, ts[10], q.Pop())
	require.Equal(t, packHeads(0, 11), q.heads.Load())
	var other Local[task]
	require.Nil(t, q.StealInto(&other))
	require.True(t, other.IsEmpty())

	release()
	require.Equal(t, packHeads(11, 11), q.heads.Load())
	require.NotNil(t, q.StealInto(&other))
}

func TestStealIntoTakesHalfRoundingUp(t *testing.T) {
	for _, c := range []struct{ have, stolen int }{
		{1, 1}, {2, 1}, {3, 2}, {4, 2}, {255, 128}, {LocalCapacity, 128},
	} {
		t.Run(fmt.Sprint(c.have), func(t *testing.T) {
			var q, dst Local[task]
			inj := NewInject[task](0)
			ts := newTasks(c.have)
			for _, tk := range ts {
				q.Push(tk, inj)
			}
			got := q.StealInto(&dst)
			require.Same(t, ts[0], got, "the oldest stolen task is returned")
			require.Equal(t, c.stolen-1, dst.Len())
			require.Equal(t, c.have-c.stolen, q.Len())
			require.Equal(t, ts[1:c.stolen], nilIfEmpty(popAll(&dst)))
			require.Equal(t, ts[c.stolen:], nilIfEmpty(popAll(&q)))
			requireSlotsCleared(t, &q)
			requireSlotsCleared(t, &dst)
		})
	}
}

func nilIfEmpty(ts []*task) []*task {
	if ts == nil {
		return []*task{}
	}
	return ts
}

func TestStealIntoANonEmptyRingTakesOnlyWhatFits(t *testing.T) {
	var q, dst Local[task]
	inj := NewInject[task](0)
	for _, tk := range newTasks(100) {
		q.Push(tk, inj)
	}
	for _, tk := range newTasks(250) {
		dst.Push(tk, inj)
	}
	// Half of 100 is 50, but dst has room for 6: 6 go there, 1 is returned.
	require.NotNil(t, q.StealInto(&dst))
	require.Equal(t, LocalCapacity, dst.Len())
	require.Equal(t, 93, q.Len())

	// A full dst still lets the thief take one to run.
	got := q.StealInto(&dst)
	require.NotNil(t, got)
	require.Equal(t, 7, got.id)
	require.Equal(t, LocalCapacity, dst.Len())
	require.Equal(t, 92, q.Len())
	require.True(t, inj.IsEmpty())
}

func TestStealIntoFindsNothing(t *testing.T) {
	var q, dst Local[task]
	require.Nil(t, q.StealInto(&dst), "empty victim")
	q.Push(&task{}, NewInject[task](0))
	require.Nil(t, q.StealInto(&q), "stealing from oneself")
	require.Equal(t, 1, q.Len())
}

func TestLocalPushBatchTakesWhatFits(t *testing.T) {
	var q Local[task]
	inj := NewInject[task](0)
	ts := newTasks(300)
	for _, tk := range ts[:200] {
		q.Push(tk, inj)
	}
	require.Equal(t, 56, q.PushBatch(ts[200:]))
	require.Equal(t, LocalCapacity, q.Len())
	require.Zero(t, q.PushBatch(ts[256:]))
	require.Equal(t, ts[:LocalCapacity], popAll(&q))
	require.Equal(t, 3, q.PushBatch(ts[:3]))
	require.Zero(t, q.PushBatch(nil))
	require.Equal(t, ts[:3], popAll(&q))
}

// Indices run free and wrap at 2^32; nothing may notice.
func TestLocalIndicesWrapAround(t *testing.T) {
	var q, dst Local[task]
	inj := NewInject[task](0)
	start := uint32(math.MaxUint32 - 100)
	q.heads.Store(packHeads(start, start))
	q.tail.Store(start)
	ts := newTasks(LocalCapacity + 1)
	for _, tk := range ts {
		q.Push(tk, inj) // overflows across the wrap
	}
	require.Equal(t, LocalCapacity/2+1, inj.Len())
	require.Equal(t, LocalCapacity/2, q.Len())
	require.Same(t, ts[LocalCapacity/2], q.StealInto(&dst))
	require.Equal(t, 63, dst.Len())
	require.Equal(t, 64, q.Len())
	require.Equal(t, ts[LocalCapacity/2+64:LocalCapacity], popAll(&q))
	require.Less(t, q.tail.Load(), start, "the tail did wrap")
	requireSlotsCleared(t, &q)
}

// Popped, stolen and overflowed tasks leave nothing behind in the ring: a
// finished task must not stay reachable from its worker.
func TestLocalClearsEverySlotItHandsOut(t *testing.T) {
	var q, thief Local[task]
	inj := NewInject[task](0)
	ts := newTasks(3 * LocalCapacity)
	for _, tk := range ts {
		q.Push(tk, inj)
	}
	for range 50 {
		q.Pop()
	}
	for q.StealInto(&thief) != nil {
		popAll(&thief)
	}
	requireSlotsCleared(t, &q)
	requireSlotsCleared(t, &thief)
	drainInject(inj)
	for i, s := range inj.buf {
		require.Nil(t, s, "inject slot %d", i)
	}
}

// One owner pushing in bursts (so its ring overflows) and popping, three
// thieves stealing from it and from one another, one goroutine draining
// the inject queue: every task is run exactly once.
func TestLocalOwnerThievesAndOverflowSeeEveryTaskOnce(t *testing.T) {
	const total = 200_000
	ts := newTasks(total)
	seen := make([]atomic.Int32, total)
	run := func(tk *task) {
		if n := seen[tk.id].Inc(); n != 1 {
			t.Errorf("task %d run %d times", tk.id, n)
		}
	}

	var owner Local[task]
	var inj Inject[task]
	thieves := make([]Local[task], 3)
	var ownerDone atomic.Bool
	var ranByOwner, stolen, overflowed atomic.Int64
	var wg sync.WaitGroup

	for i := range thieves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := &thieves[i]
			neighbour := &thieves[(i+1)%len(thieves)]
			for {
				tk := owner.StealInto(mine)
				if tk == nil {
					tk = neighbour.StealInto(mine)
				}
				if tk != nil {
					run(tk)
					stolen.Inc()
				}
				// Run a few, keeping some for the neighbour to steal.
				for range 4 {
					if tk := mine.Pop(); tk != nil {
						run(tk)
						stolen.Inc()
					}
				}
				if tk == nil {
					if ownerDone.Load() && owner.IsEmpty() && mine.IsEmpty() {
						return
					}
					runtime.Gosched()
				}
			}
		}()
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		var batch [64]*task
		for {
			done := ownerDone.Load()
			n := inj.PopBatch(batch[:])
			for _, tk := range batch[:n] {
				run(tk)
			}
			overflowed.Add(int64(n))
			if n == 0 {
				if done && inj.IsEmpty() {
					return
				}
				runtime.Gosched()
			}
		}
	}()

	r := rand.New(rand.NewPCG(1, 2))
	for pushed := 0; pushed < total; {
		for range min(1+r.IntN(2*LocalCapacity), total-pushed) {
			owner.Push(ts[pushed], &inj)
			pushed++
		}
		for range r.IntN(LocalCapacity) {
			if tk := owner.Pop(); tk != nil {
				run(tk)
				ranByOwner.Inc()
			}
		}
	}
	for tk := owner.Pop(); tk != nil; tk = owner.Pop() {
		run(tk)
		ranByOwner.Inc()
	}
	ownerDone.Store(true)
	wg.Wait()

	for id := range seen {
		require.EqualValues(t, 1, seen[id].Load(), "task %d", id)
	}
	require.EqualValues(t, total, ranByOwner.Load()+stolen.Load()+overflowed.Load())
	require.NotZero(t, stolen.Load(), "no steal succeeded")
	require.NotZero(t, overflowed.Load(), "the ring never overflowed")
	t.Logf("owner ran %d, thieves %d, inject %d", ranByOwner.Load(), stolen.Load(), overflowed.Load())
	requireSlotsCleared(t, &owner)
	for i := range thieves {
		requireSlotsCleared(t, &thieves[i])
	}
}

func TestLocalOperationsDoNotAllocate(t *testing.T) {
	var q, thief Local[task]
	inj := NewInject[task](0)
	ts := newTasks(LocalCapacity + 1)

	require.Zero(t, testing.AllocsPerRun(100, func() {
		q.Push(ts[0], inj)
		q.Pop()
	}), "Push and Pop")

	require.Zero(t, testing.AllocsPerRun(100, func() {
		for _, tk := range ts {
			q.Push(tk, inj) // the last one overflows
		}
		for inj.Pop() != nil {
		}
		for q.Pop() != nil {
		}
	}), "Push overflowing to a warmed-up inject queue")

	require.Zero(t, testing.AllocsPerRun(100, func() {
		q.PushBatch(ts[:100])
		q.StealInto(&thief)
		for thief.Pop() != nil {
		}
		for q.Pop() != nil {
		}
	}), "PushBatch and StealInto")
}
