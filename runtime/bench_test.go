//go:build unix

package runtime_test

// The scheduler benchmarks tokio keeps in benches/rt_multi_threaded.rs,
// each beside the same work written with goroutines, channels and a
// WaitGroup, at the same GOMAXPROCS, so the ratio comes from one run.

import (
	"context"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

const (
	spawnMany    = 10_000
	yieldTasks   = 200
	yieldsPer    = 1_000
	chainDepth   = 1_000
	pingPongs    = 1_000
	benchWorkers = 0 // GOMAXPROCS
)

func benchRuntime(b *testing.B) *runtime.Runtime {
	b.Helper()
	rt, err := runtime.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	return rt
}

// countdown completes a waiting future when its count reaches zero.
type countdown struct {
	left atomic.Int64
	done chan struct{}
}

func newCountdown(n int) *countdown {
	c := &countdown{done: make(chan struct{})}
	c.left.Store(int64(n))
	return c
}

func (c *countdown) dec() {
	if c.left.Add(-1) == 0 {
		close(c.done)
	}
}

type decTask struct{ c *countdown }

func (d decTask) Poll(*task.Context) (struct{}, bool) {
	d.c.dec()
	return struct{}{}, true
}

func BenchmarkSpawnManyRemote(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(spawnMany)
			for i := 0; i < spawnMany; i++ {
				runtime.Spawn(rt, task.Future[struct{}](decTask{c})).Detach()
			}
			<-c.done
		}
	})
	b.Run("goroutines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(spawnMany)
			for i := 0; i < spawnMany; i++ {
				go wg.Done()
			}
			wg.Wait()
		}
	})
}

// spawner spawns n decTasks from inside a task.
type spawner struct {
	rt *runtime.Runtime
	c  *countdown
	n  int
}

func (s spawner) Poll(cx *task.Context) (struct{}, bool) {
	for i := 0; i < s.n; i++ {
		runtime.SpawnFrom(s.rt, cx, task.Future[struct{}](decTask{s.c})).Detach()
	}
	return struct{}{}, true
}

func BenchmarkSpawnManyLocal(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(spawnMany)
			runtime.Spawn(rt, task.Future[struct{}](spawner{rt, c, spawnMany})).Detach()
			<-c.done
		}
	})
	b.Run("goroutines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(spawnMany)
			go func() {
				for i := 0; i < spawnMany; i++ {
					go wg.Done()
				}
			}()
			wg.Wait()
		}
	})
}

// yielder yields n times, then counts down.
type yielder struct {
	c *countdown
	n int
}

func (y *yielder) Poll(cx *task.Context) (struct{}, bool) {
	if y.n == 0 {
		y.c.dec()
		return struct{}{}, true
	}
	y.n--
	cx.Waker().Wake()
	return struct{}{}, false
}

func BenchmarkYieldMany(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		ys := make([]yielder, yieldTasks)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(yieldTasks)
			for i := range ys {
				ys[i] = yielder{c: c, n: yieldsPer}
				runtime.Spawn(rt, task.Future[struct{}](&ys[i])).Detach()
			}
			<-c.done
		}
	})
	b.Run("goroutines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(yieldTasks)
			for i := 0; i < yieldTasks; i++ {
				go func() {
					for j := 0; j < yieldsPer; j++ {
						goruntime.Gosched()
					}
					wg.Done()
				}()
			}
			wg.Wait()
		}
	})
}

// chain spawns the next link until depth reaches zero.
type chain struct {
	rt    *runtime.Runtime
	depth int
	done  chan struct{}
}

func (c chain) Poll(cx *task.Context) (struct{}, bool) {
	if c.depth == 0 {
		close(c.done)
	} else {
		runtime.SpawnFrom(c.rt, cx, task.Future[struct{}](chain{c.rt, c.depth - 1, c.done})).Detach()
	}
	return struct{}{}, true
}

func BenchmarkChainedSpawn(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			done := make(chan struct{})
			runtime.Spawn(rt, task.Future[struct{}](chain{rt, chainDepth, done})).Detach()
			<-done
		}
	})
	b.Run("goroutines", func(b *testing.B) {
		b.ReportAllocs()
		var link func(depth int, done chan struct{})
		link = func(depth int, done chan struct{}) {
			if depth == 0 {
				close(done)
				return
			}
			go link(depth-1, done)
		}
		for b.Loop() {
			done := make(chan struct{})
			go link(chainDepth, done)
			<-done
		}
	})
}

// signal is a minimal oneshot: one value-less send, one waiting task.
type signal struct {
	// state: 0 nothing, 1 a waker is stored (the sender reads it), 2 sent.
	state atomic.Uint32
	waker task.Waker
}

func (s *signal) send() {
	if s.state.Swap(2) == 1 {
		s.waker.Wake()
	}
}

func (s *signal) poll(cx *task.Context) bool {
	switch s.state.Load() {
	case 2:
		return true
	case 1:
		// Take the waker field back before replacing it.
		if !s.state.CompareAndSwap(1, 0) {
			return true
		}
	}
	s.waker = cx.Waker()
	return !s.state.CompareAndSwap(0, 1)
}

// pingPair is one of pingPongs tasks: it spawns a partner, sends it a
// ping, and completes when the pong comes back.
type pingPair struct {
	rt         *runtime.Runtime
	c          *countdown
	ping, pong signal
	spawned    bool
}

func (p *pingPair) Poll(cx *task.Context) (struct{}, bool) {
	if !p.spawned {
		p.spawned = true
		runtime.SpawnFrom(p.rt, cx, task.Future[struct{}](ponger{p})).Detach()
		p.ping.send()
	}
	if !p.pong.poll(cx) {
		return struct{}{}, false
	}
	p.c.dec()
	return struct{}{}, true
}

type ponger struct{ p *pingPair }

func (p ponger) Poll(cx *task.Context) (struct{}, bool) {
	if !p.p.ping.poll(cx) {
		return struct{}{}, false
	}
	p.p.pong.send()
	return struct{}{}, true
}

type pingRoot struct {
	rt *runtime.Runtime
	c  *countdown
}

func (r pingRoot) Poll(cx *task.Context) (struct{}, bool) {
	for i := 0; i < pingPongs; i++ {
		runtime.SpawnFrom(r.rt, cx, task.Future[struct{}](&pingPair{rt: r.rt, c: r.c})).Detach()
	}
	return struct{}{}, true
}

func BenchmarkPingPong(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(pingPongs)
			runtime.Spawn(rt, task.Future[struct{}](pingRoot{rt, c})).Detach()
			<-c.done
		}
	})
	b.Run("goroutines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(pingPongs)
			go func() {
				for i := 0; i < pingPongs; i++ {
					go func() {
						ping, pong := make(chan struct{}, 1), make(chan struct{}, 1)
						go func() {
							<-ping
							pong <- struct{}{}
						}()
						ping <- struct{}{}
						<-pong
						wg.Done()
					}()
				}
			}()
			wg.Wait()
		}
	})
}
