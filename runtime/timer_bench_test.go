//go:build unix

package runtime_test

// The request-timeout pattern: many timers with random deadlines, nine in
// ten cancelled before they fire, started by several workers at once.
// metal's per-worker wheels against time.AfterFunc+Stop and against
// context.WithTimeout+cancel, with as many goroutines as workers; ns/op is
// per timer.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

const timerPool = 1024

// timeoutDeadline is the deadline of timer i: a short one (it fires) for
// one in ten, a random one up to a minute (cancelled first) for the rest.
func timeoutDeadline(r *rand.Rand, i int) (time.Duration, bool) {
	if i%10 == 0 {
		return time.Duration(1+r.IntN(5)) * time.Millisecond, false
	}
	return time.Duration(1+r.IntN(60_000)) * time.Millisecond, true
}

// timeoutLoop arms n timers on pooled SleepFutures from inside a task.
type timeoutLoop struct {
	n     int
	seed  uint64
	pool  [timerPool]runtime.SleepFuture
	fired int
}

func (l *timeoutLoop) Poll(cx *task.Context) (int, bool) {
	r := rand.New(rand.NewPCG(l.seed, 1))
	for i := 0; i < l.n; i++ {
		s := &l.pool[i%timerPool]
		d, cancel := timeoutDeadline(r, i)
		s.Reset(d) // drops the timer this slot held, if it is still armed
		if _, ok := s.Poll(cx); ok {
			l.fired++
		}
		if cancel {
			s.Drop()
		}
	}
	for i := range l.pool {
		l.pool[i].Drop()
	}
	return l.fired, true
}

func BenchmarkTimeouts(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("metal/workers=%d", workers), func(b *testing.B) {
			rt, err := runtime.New(runtime.WithWorkers(workers))
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Shutdown(context.Background())
			b.ReportAllocs()
			loops := make([]*timeoutLoop, workers)
			for i := range loops {
				loops[i] = &timeoutLoop{seed: uint64(i)}
			}
			b.ResetTimer()
			hs := make([]*task.JoinHandle[int], workers)
			for i, l := range loops {
				l.n = b.N / workers
				hs[i] = runtime.Spawn(rt, task.Future[int](l))
			}
			for _, h := range hs {
				if _, err := h.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("AfterFunc/goroutines=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			var wg sync.WaitGroup
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func(seed uint64, n int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 1))
					var pool [timerPool]*time.Timer
					for i := 0; i < n; i++ {
						if old := pool[i%timerPool]; old != nil {
							old.Stop()
						}
						d, cancel := timeoutDeadline(r, i)
						t := time.AfterFunc(d, func() {})
						if cancel {
							t.Stop()
						}
						pool[i%timerPool] = t
					}
					for _, t := range pool {
						if t != nil {
							t.Stop()
						}
					}
				}(uint64(g), b.N/workers)
			}
			wg.Wait()
		})
		b.Run(fmt.Sprintf("WithTimeout/goroutines=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			var wg sync.WaitGroup
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func(seed uint64, n int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 1))
					var pool [timerPool]context.CancelFunc
					for i := 0; i < n; i++ {
						if old := pool[i%timerPool]; old != nil {
							old()
						}
						d, cancel := timeoutDeadline(r, i)
						_, c := context.WithTimeout(context.Background(), d)
						if cancel {
							c()
						}
						pool[i%timerPool] = c
					}
					for _, c := range pool {
						if c != nil {
							c()
						}
					}
				}(uint64(g), b.N/workers)
			}
			wg.Wait()
		})
	}
}

// BenchmarkTimerLateness arms 100,000 timers (deadlines spread over 300 ms)
// and then keeps every worker busy with tasks that never wait, and reports
// how late each timer's task ran: from its deadline to its next poll. One
// op is the whole run.
func BenchmarkTimerLateness(b *testing.B) {
	rt := benchRuntime(b)
	const n = 100_000
	var p50, p99, worst time.Duration
	for b.Loop() {
		late := make([]time.Duration, n)
		var armed atomic.Int64
		start := time.Now().Add(time.Second)
		hs := make([]*task.JoinHandle[struct{}], n)
		for i := range hs {
			at := start.Add(time.Duration(rand.IntN(300_000)) * time.Microsecond)
			sleep := runtime.SleepUntil(at)
			first := true
			hs[i] = runtime.Spawn(rt, task.Future[struct{}](task.FutureFunc[struct{}](func(cx *task.Context) (struct{}, bool) {
				_, ok := sleep.Poll(cx)
				if first {
					first = false
					armed.Add(1)
				}
				if !ok {
					return struct{}{}, false
				}
				late[i] = time.Since(at)
				return struct{}{}, true
			})))
		}
		for armed.Load() < n {
			time.Sleep(time.Millisecond)
		}
		if time.Now().After(start) {
			b.Fatal("arming took longer than the margin before the first deadline")
		}
		var stop atomic.Bool
		for i := 0; i < 2*rt.Workers(); i++ {
			runtime.Spawn(rt, task.Future[int](&hog{stop: &stop})).Detach()
		}
		for _, h := range hs {
			if _, err := h.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		stop.Store(true)
		slices.Sort(late)
		if late[0] < 0 {
			b.Fatalf("a timer fired %v early", -late[0])
		}
		p50, p99, worst = late[n/2], late[n*99/100], late[n-1]
	}
	b.ReportMetric(float64(p50.Microseconds()), "p50-late-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-late-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-late-µs")
}
