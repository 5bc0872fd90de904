//go:build unix

package runtime_test

// The scheduler benchmarks tokio keeps in benches/rt_multi_threaded.rs,
// each beside the same work written with goroutines, channels and a
// WaitGroup, at the same GOMAXPROCS, so the ratio comes from one run.
// Those that spawn do it metal's two ways: "metal" with Spawn (SpawnFrom
// inside a task) and a JoinHandle it detaches, "metal_go" with Go (GoFrom),
// which has no handle and reuses a completed task's memory, as `go f()`
// reuses a dead goroutine's.

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
	for _, goSpawn := range []bool{true, false} {
		name := "metal"
		if goSpawn {
			name = "metal_go"
		}
		b.Run(name, func(b *testing.B) {
			rt := benchRuntime(b)
			b.ReportAllocs()
			for b.Loop() {
				c := newCountdown(spawnMany)
				for i := 0; i < spawnMany; i++ {
					if goSpawn {
						runtime.Go(rt, task.Future[struct{}](decTask{c}))
					} else {
						runtime.Spawn(rt, task.Future[struct{}](decTask{c})).Detach()
					}
				}
				<-c.done
			}
		})
	}
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

// spawner spawns n decTasks from inside a task, with GoFrom when goSpawn
// is set and SpawnFrom otherwise.
type spawner struct {
	rt      *runtime.Runtime
	c       *countdown
	n       int
	goSpawn bool
}

func (s spawner) Poll(cx *task.Context) (struct{}, bool) {
	for i := 0; i < s.n; i++ {
		if s.goSpawn {
			runtime.GoFrom(s.rt, cx, task.Future[struct{}](decTask{s.c}))
		} else {
			runtime.SpawnFrom(s.rt, cx, task.Future[struct{}](decTask{s.c})).Detach()
		}
	}
	return struct{}{}, true
}

func BenchmarkSpawnManyLocal(b *testing.B) {
	for _, goSpawn := range []bool{true, false} {
		name := "metal"
		if goSpawn {
			name = "metal_go"
		}
		b.Run(name, func(b *testing.B) {
			rt := benchRuntime(b)
			b.ReportAllocs()
			for b.Loop() {
				c := newCountdown(spawnMany)
				runtime.Go(rt, task.Future[struct{}](spawner{rt, c, spawnMany, goSpawn}))
				<-c.done
			}
		})
	}
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

// goChain is chain spawned with Go instead of Spawn.
type goChain chain

func (c goChain) Poll(cx *task.Context) (struct{}, bool) {
	if c.depth == 0 {
		close(c.done)
	} else {
		runtime.GoFrom(c.rt, cx, task.Future[struct{}](goChain{c.rt, c.depth - 1, c.done}))
	}
	return struct{}{}, true
}

func BenchmarkChainedSpawn(b *testing.B) {
	b.Run("metal_go", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			done := make(chan struct{})
			runtime.Go(rt, task.Future[struct{}](goChain{rt, chainDepth, done}))
			<-done
		}
	})
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

// pingPair is one of pingPongs tasks: it spawns a partner, sends it a
// ping on a oneshot, and completes when the pong comes back on another.
type pingPair struct {
	rt      *runtime.Runtime
	c       *countdown
	pong    *task.OneshotReceiver[struct{}]
	partner ponger // the partner task's future, allocated with this one
	spawned bool
	goSpawn bool // spawn with Go, not Spawn
}

func (p *pingPair) Poll(cx *task.Context) (struct{}, bool) {
	if !p.spawned {
		p.spawned = true
		pingTx, pingRx := task.NewOneshot[struct{}]()
		pongTx, pongRx := task.NewOneshot[struct{}]()
		p.pong = pongRx
		p.partner = ponger{in: pingRx, out: pongTx}
		if p.goSpawn {
			runtime.GoFrom(p.rt, cx, task.Future[struct{}](&p.partner))
		} else {
			runtime.SpawnFrom(p.rt, cx, task.Future[struct{}](&p.partner)).Detach()
		}
		_ = pingTx.Send(struct{}{})
	}
	if _, ok := p.pong.Poll(cx); !ok {
		return struct{}{}, false
	}
	p.c.dec()
	return struct{}{}, true
}

type ponger struct {
	in  *task.OneshotReceiver[struct{}]
	out *task.OneshotSender[struct{}]
}

func (p *ponger) Poll(cx *task.Context) (struct{}, bool) {
	if _, ok := p.in.Poll(cx); !ok {
		return struct{}{}, false
	}
	_ = p.out.Send(struct{}{})
	return struct{}{}, true
}

type pingRoot struct {
	rt      *runtime.Runtime
	c       *countdown
	goSpawn bool
}

func (r pingRoot) Poll(cx *task.Context) (struct{}, bool) {
	for i := 0; i < pingPongs; i++ {
		p := &pingPair{rt: r.rt, c: r.c, goSpawn: r.goSpawn}
		if r.goSpawn {
			runtime.GoFrom(r.rt, cx, task.Future[struct{}](p))
		} else {
			runtime.SpawnFrom(r.rt, cx, task.Future[struct{}](p)).Detach()
		}
	}
	return struct{}{}, true
}

func BenchmarkPingPong(b *testing.B) {
	b.Run("metal_go", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(pingPongs)
			runtime.Go(rt, task.Future[struct{}](pingRoot{rt, c, true}))
			<-c.done
		}
	})
	b.Run("metal", func(b *testing.B) {
		rt := benchRuntime(b)
		b.ReportAllocs()
		for b.Loop() {
			c := newCountdown(pingPongs)
			runtime.Spawn(rt, task.Future[struct{}](pingRoot{rt, c, false})).Detach()
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

// BenchmarkYieldManyCoroutine is yield_many written as straight-line code
// (task.Coroutine), to set the cost of a coroutine task beside the
// hand-written future of BenchmarkYieldMany/metal.
func BenchmarkYieldManyCoroutine(b *testing.B) {
	rt := benchRuntime(b)
	b.ReportAllocs()
	for b.Loop() {
		c := newCountdown(yieldTasks)
		for i := 0; i < yieldTasks; i++ {
			runtime.Spawn(rt, task.Coroutine(func(co *task.Co) struct{} {
				var y task.Yield
				for j := 0; j < yieldsPer; j++ {
					task.Await[struct{}](co, &y)
				}
				c.dec()
				return struct{}{}
			})).Detach()
		}
		<-c.done
	}
}
