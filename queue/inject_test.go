package queue

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"
)

func ExampleInject() {
	var global Inject[task] // the zero value is ready
	global.Push(&task{id: 1})
	global.PushBatch([]*task{{id: 2}, {id: 3}})

	// A worker moves a batch into its own ring.
	var batch [2]*task
	var ring Local[task]
	n := global.PopBatch(batch[:])
	ring.PushBatch(batch[:n])
	fmt.Println("moved", n, "left", global.Len())

	// At shutdown: refuse new tasks, then run down what is left.
	global.Close()
	fmt.Println("push after close:", global.Push(&task{id: 4}))
	global.Drain(func(t *task) { fmt.Println("drained", t.id) })
	// Output:
	// moved 2 left 1
	// push after close: false
	// drained 3
}

func TestInjectIsFIFO(t *testing.T) {
	var q Inject[task]
	require.True(t, q.IsEmpty())
	require.Nil(t, q.Pop())
	ts := newTasks(10)
	for i, tk := range ts {
		require.True(t, q.Push(tk))
		require.Equal(t, i+1, q.Len())
	}
	require.False(t, q.IsEmpty())
	for _, tk := range ts {
		require.Same(t, tk, q.Pop())
	}
	require.Nil(t, q.Pop())
	require.True(t, q.IsEmpty())
}

// Growing while the ring has wrapped keeps the order, doubles the ring to a
// power of two, and the ring never shrinks back.
func TestInjectGrowsPastItsCapacityInOrder(t *testing.T) {
	q := NewInject[task](3)
	require.Len(t, q.buf, 4)
	ts := newTasks(12)
	for _, tk := range ts[:4] {
		q.Push(tk)
	}
	require.Same(t, ts[0], q.Pop())
	require.Same(t, ts[1], q.Pop())
	for _, tk := range ts[4:] { // wraps, then grows 4 -> 8 -> 16
		require.True(t, q.Push(tk))
	}
	require.Len(t, q.buf, 16)
	require.Equal(t, 10, q.Len())
	require.Equal(t, ts[2:], drainInject(q))
	require.Len(t, q.buf, 16)
}

func TestInjectZeroValueStartsAtTheDefaultCapacity(t *testing.T) {
	var q Inject[task]
	require.Nil(t, q.buf)
	q.Push(&task{})
	require.Len(t, q.buf, defaultInjectCapacity)
}

func TestInjectPushBatchAndPopBatchWrapAround(t *testing.T) {
	q := NewInject[task](8)
	ts := newTasks(11)
	require.True(t, q.PushBatch(ts[:6]))
	var out [10]*task
	require.Equal(t, 5, q.PopBatch(out[:5]))
	require.Equal(t, ts[:5], out[:5])

	// head is at 5: this batch wraps round the end of the ring.
	require.True(t, q.PushBatch(ts[6:11]))
	require.Len(t, q.buf, 8, "six tasks fit in eight slots")
	require.Equal(t, 4, q.PopBatch(out[:4]))
	require.Equal(t, ts[5:9], out[:4])
	require.Equal(t, 2, q.PopBatch(out[:]))
	require.Equal(t, ts[9:11], out[:2])
	require.Zero(t, q.PopBatch(out[:]))
	require.Zero(t, q.PopBatch(nil))
	require.True(t, q.PushBatch(nil))
	require.True(t, q.IsEmpty())
	for i, s := range q.buf {
		require.Nil(t, s, "slot %d not cleared", i)
	}
}

func TestInjectPushBatchGrowsOnce(t *testing.T) {
	q := NewInject[task](4)
	ts := newTasks(40)
	require.True(t, q.PushBatch(ts[:3]))
	require.True(t, q.PushBatch(ts[3:]))
	require.Len(t, q.buf, 64)
	require.Equal(t, ts, drainInject(q))
}

func TestInjectPopClearsSlots(t *testing.T) {
	q := NewInject[task](4)
	for _, tk := range newTasks(4) {
		q.Push(tk)
	}
	q.Pop()
	require.Nil(t, q.buf[0])
	q.Pop()
	require.Nil(t, q.buf[1])
	require.NotNil(t, q.buf[2])
}

func TestInjectCloseRefusesNewTasksAndDrainRunsTheRest(t *testing.T) {
	var q Inject[task]
	ts := newTasks(4)
	q.Push(ts[0])
	q.PushBatch(ts[1:3])
	require.False(t, q.IsClosed())

	q.Close()
	require.True(t, q.IsClosed())
	require.False(t, q.Push(ts[3]))
	require.False(t, q.PushBatch(ts[3:]))
	require.Equal(t, 3, q.Len())

	require.Equal(t, ts[:3], drainInject(&q))
	require.True(t, q.IsEmpty())
	q.Close()
	require.True(t, q.IsClosed())
}

// A worker's overflow is the runtime's work already: it goes in even after
// Close, so the last Drain finds it.
func TestInjectTakesOverflowAfterClose(t *testing.T) {
	var q Inject[task]
	var ring Local[task]
	q.Close()
	ts := newTasks(LocalCapacity + 1)
	for _, tk := range ts {
		ring.Push(tk, &q)
	}
	require.Equal(t, LocalCapacity/2+1, q.Len())
	got := drainInject(&q)
	require.Equal(t, ts[:LocalCapacity/2], got[:LocalCapacity/2])
	require.Same(t, ts[LocalCapacity], got[LocalCapacity/2])
}

// Four producers, two consumers, one with Pop and one with PopBatch: every
// task is taken exactly once, and each consumer sees each producer's tasks
// in the order they were pushed.
func TestInjectManyProducersManyConsumers(t *testing.T) {
	const producers, perProducer = 4, 50_000
	type item struct{ producer, seq int }
	items := make([]item, producers*perProducer)
	seen := make([]atomic.Int32, len(items))
	var q Inject[item]
	var pushing sync.WaitGroup
	var producersDone atomic.Bool

	for p := range producers {
		pushing.Add(1)
		go func() {
			defer pushing.Done()
			mine := items[p*perProducer : (p+1)*perProducer]
			for i := range mine {
				mine[i] = item{producer: p, seq: i}
			}
			for i := 0; i < len(mine); {
				ok := true
				if i%2 == 0 && i+3 <= len(mine) {
					ok = q.PushBatch([]*item{&mine[i], &mine[i+1], &mine[i+2]})
					i += 3
				} else {
					ok = q.Push(&mine[i])
					i++
				}
				if !ok {
					t.Errorf("producer %d: push refused", p)
					return
				}
			}
		}()
	}

	var consuming sync.WaitGroup
	take := func(it *item, last *[producers]int) {
		if n := seen[it.producer*perProducer+it.seq].Inc(); n != 1 {
			t.Errorf("producer %d task %d taken %d times", it.producer, it.seq, n)
		}
		if it.seq <= last[it.producer] {
			t.Errorf("producer %d: task %d after %d", it.producer, it.seq, last[it.producer])
		}
		last[it.producer] = it.seq
	}
	for c := range 2 {
		consuming.Add(1)
		go func() {
			defer consuming.Done()
			last := [producers]int{-1, -1, -1, -1}
			var batch [16]*item
			for {
				done := producersDone.Load()
				n := 0
				if c == 0 {
					if it := q.Pop(); it != nil {
						take(it, &last)
						n = 1
					}
				} else {
					n = q.PopBatch(batch[:])
					for _, it := range batch[:n] {
						take(it, &last)
					}
				}
				if n == 0 {
					if done {
						return
					}
					runtime.Gosched()
				}
			}
		}()
	}

	pushing.Wait()
	producersDone.Store(true)
	consuming.Wait()
	for i := range seen {
		require.EqualValues(t, 1, seen[i].Load(), "producer %d task %d", i/perProducer, i%perProducer)
	}
	require.True(t, q.IsEmpty())
}

func TestInjectOperationsDoNotAllocate(t *testing.T) {
	q := NewInject[task](0)
	ts := newTasks(100)
	var out [100]*task
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for _, tk := range ts {
			q.Push(tk)
		}
		for q.Pop() != nil {
		}
	}), "Push and Pop")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		q.PushBatch(ts)
		q.PopBatch(out[:])
	}), "PushBatch and PopBatch")
}
