package queue

import (
	"runtime"
	"sync"
	"testing"

	"go.uber.org/atomic"
)

// The run queues beside what a Go programmer would reach for first: a
// buffered channel for the worker's ring and for the inject queue, and a
// ring behind a sync.Mutex for stealing. Each pair is two sub-benchmarks of
// one benchmark, so one run prints the ratio.

// One op is one push and one pop by the ring's owner, on an empty ring.
func BenchmarkLocalPushPop(b *testing.B) {
	tk := &task{}
	b.Run("local", func(b *testing.B) {
		var q Local[task]
		inj := NewInject[task](0)
		b.ReportAllocs()
		for b.Loop() {
			q.Push(tk, inj)
			q.Pop()
		}
	})
	b.Run("chan", func(b *testing.B) {
		ch := make(chan *task, LocalCapacity)
		b.ReportAllocs()
		for b.Loop() {
			ch <- tk
			<-ch
		}
	})
}

// One op is one push and one pop, in bursts of 128 pushes then 128 pops:
// the ring is half full at the turn, as a busy worker's is.
func BenchmarkLocalPushPopBurst(b *testing.B) {
	const burst = LocalCapacity / 2
	tk := &task{}
	b.Run("local", func(b *testing.B) {
		var q Local[task]
		inj := NewInject[task](0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			q.Push(tk, inj)
			if i%burst == burst-1 {
				for q.Pop() != nil {
				}
			}
		}
	})
	b.Run("chan", func(b *testing.B) {
		ch := make(chan *task, LocalCapacity)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ch <- tk
			if i%burst == burst-1 {
				for range burst {
					<-ch
				}
			}
		}
	})
}

// One op is one push and one pop from one goroutine: the lock, uncontended.
func BenchmarkInjectPushPop(b *testing.B) {
	tk := &task{}
	b.Run("inject", func(b *testing.B) {
		q := NewInject[task](0)
		b.ReportAllocs()
		for b.Loop() {
			q.Push(tk)
			q.Pop()
		}
	})
	b.Run("chan", func(b *testing.B) {
		ch := make(chan *task, defaultInjectCapacity)
		b.ReportAllocs()
		for b.Loop() {
			ch <- tk
			<-ch
		}
	})
}

// One op is one push and one pop, from GOMAXPROCS goroutines at once: the
// lock, contended. Each goroutine pops what it may not have pushed.
func BenchmarkInjectPushPopParallel(b *testing.B) {
	tk := &task{}
	b.Run("inject", func(b *testing.B) {
		q := NewInject[task](0)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				q.Push(tk)
				q.Pop()
			}
		})
	})
	b.Run("chan", func(b *testing.B) {
		ch := make(chan *task, defaultInjectCapacity)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ch <- tk
				<-ch
			}
		})
	})
}

// mutexRing is the plain alternative to Local for stealing: the same ring,
// every operation under one sync.Mutex.
type mutexRing struct {
	mu      sync.Mutex
	buf     [LocalCapacity]*task
	head, n int
}

// pushBatch appends ts, which fit.
func (r *mutexRing) pushBatch(ts []*task) {
	r.mu.Lock()
	for i, t := range ts {
		r.buf[(r.head+r.n+i)%LocalCapacity] = t
	}
	r.n += len(ts)
	r.mu.Unlock()
}

// isEmpty reports whether the ring is empty.
func (r *mutexRing) isEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n == 0
}

// pop removes and returns the oldest task, or nil.
func (r *mutexRing) pop() *task {
	r.mu.Lock()
	if r.n == 0 {
		r.mu.Unlock()
		return nil
	}
	t := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % LocalCapacity
	r.n--
	r.mu.Unlock()
	return t
}

// stealInto moves half the tasks, rounding up, into dst (which has room:
// the benchmark's thief steals only when its ring is empty) and returns
// how many it moved. It takes r's lock, then dst's: the one thief never
// steals from itself, so the order cannot deadlock.
func (r *mutexRing) stealInto(dst *mutexRing) int {
	r.mu.Lock()
	dst.mu.Lock()
	k := r.n - r.n/2
	for i := range k {
		from := &r.buf[(r.head+i)%LocalCapacity]
		dst.buf[(dst.head+dst.n+i)%LocalCapacity] = *from
		*from = nil
	}
	r.head = (r.head + k) % LocalCapacity
	r.n -= k
	dst.n += k
	dst.mu.Unlock()
	r.mu.Unlock()
	return k
}

// One op is one task handed from an owner to a thief by stealing. The
// owner pushes a batch of 128 tasks at once and waits until its ring is
// empty again; a thief goroutine steals half of what it finds into its own
// ring, over and over, and pops what it stole. So a batch leaves in eight
// steals (64, 32, ... 1), every task through a steal (the stolen/op metric
// says so). The alternative does the same with mutexRings: a lock per
// batch, per steal and per pop.
func BenchmarkStealHalf(b *testing.B) {
	const batch = LocalCapacity / 2
	tasks := make([]*task, batch)
	for i := range tasks {
		tasks[i] = &task{id: i}
	}
	b.Run("local", func(b *testing.B) {
		var victim, thief Local[task]
		var done atomic.Bool
		var stolen int
		finished := make(chan struct{})
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			defer close(finished)
			for {
				if victim.StealInto(&thief) != nil {
					stolen++
					for thief.Pop() != nil {
						stolen++
					}
					continue
				}
				if done.Load() && victim.IsEmpty() {
					return
				}
				runtime.Gosched()
			}
		}()
		for pushed := 0; pushed < b.N; {
			k := victim.PushBatch(tasks[:min(batch, b.N-pushed)])
			pushed += k
			for !victim.IsEmpty() {
				runtime.Gosched()
			}
		}
		done.Store(true)
		<-finished
		b.StopTimer()
		b.ReportMetric(float64(stolen)/float64(b.N), "stolen/op")
	})
	b.Run("mutex", func(b *testing.B) {
		var victim mutexRing
		var done atomic.Bool
		var stolen int
		finished := make(chan struct{})
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			defer close(finished)
			var thief mutexRing
			for {
				if victim.stealInto(&thief) > 0 {
					for thief.pop() != nil {
						stolen++
					}
					continue
				}
				if done.Load() && victim.isEmpty() {
					return
				}
				runtime.Gosched()
			}
		}()
		for pushed := 0; pushed < b.N; {
			k := min(batch, b.N-pushed)
			victim.pushBatch(tasks[:k])
			pushed += k
			for !victim.isEmpty() {
				runtime.Gosched()
			}
		}
		done.Store(true)
		<-finished
		b.StopTimer()
		b.ReportMetric(float64(stolen)/float64(b.N), "stolen/op")
	})
}
