//go:build unix

package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

func newRuntime(t testing.TB, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx))
	})
	return rt
}

func ready[T any](v T) task.Future[T] {
	return task.FutureFunc[T](func(*task.Context) (T, bool) { return v, true })
}

func TestSpawnManyAndWait(t *testing.T) {
	rt := newRuntime(t)
	const n = 10000
	hs := make([]*task.JoinHandle[int], n)
	for i := range hs {
		hs[i] = runtime.Spawn(rt, ready(i))
	}
	sum := 0
	for _, h := range hs {
		v, err := h.Wait()
		require.NoError(t, err)
		sum += v
	}
	require.Equal(t, n*(n-1)/2, sum)
}

func TestBlockOnSpawnsAndAwaits(t *testing.T) {
	rt := newRuntime(t)
	var hs []*task.JoinHandle[int]
	v, err := runtime.BlockOn(rt, task.FutureFunc[int](func(cx *task.Context) (int, bool) {
		if hs == nil {
			for i := 1; i <= 100; i++ {
				hs = append(hs, runtime.Spawn(rt, ready(i)))
			}
		}
		sum := 0
		for _, h := range hs {
			r, ok := h.Poll(cx)
			if !ok {
				return 0, false
			}
			sum += r.Value
		}
		return sum, true
	}))
	require.NoError(t, err)
	require.Equal(t, 5050, v)
}

func TestPanicIsAnErrorAndTheWorkerLives(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(1))
	h := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) { panic("kaput") })))
	_, err := h.Wait()
	require.ErrorIs(t, err, task.ErrPanicked)
	require.Contains(t, err.Error(), "kaput")
	v, err := runtime.Spawn(rt, ready(3)).Wait()
	require.NoError(t, err)
	require.Equal(t, 3, v)
}

func TestBlockOnPanicIsAnError(t *testing.T) {
	rt := newRuntime(t)
	_, err := runtime.BlockOn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) { panic(errors.New("inner")) })))
	require.ErrorIs(t, err, task.ErrPanicked)
}

func TestShutdownCancelsThousandsOfPendingTasks(t *testing.T) {
	before := goruntime.NumGoroutine()
	fds := testutil.OpenFds(t)
	rt, err := runtime.New()
	require.NoError(t, err)
	const n = 5000
	var polled atomic.Int64
	hs := make([]*task.JoinHandle[int], n)
	for i := range hs {
		hs[i] = runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
			polled.Add(1)
			return 0, false // waits forever: nothing will wake it
		})))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))
	for _, h := range hs {
		require.True(t, h.IsFinished())
		_, err := h.Wait()
		require.ErrorIs(t, err, runtime.ErrShutdown)
	}
	_, err = runtime.Spawn(rt, ready(1)).Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = runtime.BlockOn(rt, ready(1))
	require.ErrorIs(t, err, runtime.ErrShutdown)
	requireGoroutinesBackTo(t, before)
	require.Equal(t, fds, testutil.OpenFds(t), "the poller's fds are closed")
	t.Logf("polled %d of %d before shutdown", polled.Load(), n)
}

// gateSpawner spawns n tasks from its poll (onto its worker's LIFO slot
// and ring) and then blocks its worker until gate closes, so that what it
// spawned is still queued when Shutdown comes.
type gateSpawner struct {
	rt      *runtime.Runtime
	n       int
	polled  *atomic.Int64
	hs      []*task.JoinHandle[int]
	started chan struct{}
	gate    chan struct{}
}

func (g *gateSpawner) Poll(cx *task.Context) (int, bool) {
	for range g.n {
		g.hs = append(g.hs, runtime.SpawnFrom(g.rt, cx, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
			g.polled.Add(1)
			return 1, true
		}))))
	}
	g.started <- struct{}{}
	<-g.gate
	return 0, true
}

// A task waiting for its first poll is in no live set (task.Set.Watch):
// Shutdown reaches it through the queues it sits in. Both workers are held
// inside a poll while tasks pile up in their LIFO slots, rings and the
// inject queue; Shutdown must still end every one of them.
func TestShutdownCancelsTasksQueuedForTheirFirstPoll(t *testing.T) {
	before := goruntime.NumGoroutine()
	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(t, err)
	var polled atomic.Int64
	gate := make(chan struct{})
	var spawners []*gateSpawner
	var hs []*task.JoinHandle[int]
	for range rt.Workers() {
		g := &gateSpawner{rt: rt, n: 1000, polled: &polled, started: make(chan struct{}), gate: gate}
		spawners = append(spawners, g)
		hs = append(hs, runtime.Spawn(rt, task.Future[int](g)))
		<-g.started // this worker is now held, so the next spawner goes to the other
	}
	for range 1000 {
		hs = append(hs, runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
			polled.Add(1)
			return 1, true
		}))))
	}
	done := make(chan error, 1)
	go func() { done <- rt.Shutdown(context.Background()) }()
	// Let Shutdown close the live sets and ask the workers to stop before
	// they come back from the held polls.
	require.Eventually(t, func() bool {
		_, err := runtime.Spawn(rt, ready(0)).Wait()
		return errors.Is(err, runtime.ErrShutdown)
	}, 10*time.Second, time.Millisecond)
	close(gate)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	for _, g := range spawners {
		hs = append(hs, g.hs...)
	}
	cancelled, ran := 0, 0
	for _, h := range hs {
		require.True(t, h.IsFinished(), "every task ended by the time Shutdown returned")
		v, err := h.Wait()
		if err != nil {
			require.ErrorIs(t, err, runtime.ErrShutdown)
			cancelled++
		}
		ran += v
	}
	t.Logf("%d tasks: %d polled, %d cancelled in their queues", len(hs), polled.Load(), cancelled)
	require.Equal(t, int(polled.Load()), ran, "a task polled to completion kept its value")
	require.Equal(t, len(hs)-len(spawners), ran+cancelled)
	// The 1,000 in the inject queue and the last spawner's 1,000 could
	// not run: every worker was held (the first spawner's may have been
	// stolen by the second worker before it took the second spawner).
	require.GreaterOrEqual(t, cancelled, 2000, "the queued tasks were cancelled, not run")
	requireGoroutinesBackTo(t, before)
}

// Spawns from tasks and from goroutines race with Shutdown: whichever
// side wins, every handle ends, with its value or ErrShutdown.
func TestSpawnsRacingShutdownAllEnd(t *testing.T) {
	for round := range 20 {
		rt, err := runtime.New(runtime.WithWorkers(2))
		require.NoError(t, err)
		var mu sync.Mutex
		var hs []*task.JoinHandle[int]
		keep := func(h *task.JoinHandle[int]) {
			mu.Lock()
			hs = append(hs, h)
			mu.Unlock()
		}
		// A task that spawns a child from every poll and yields, until
		// its spawns fail.
		spawner := task.FutureFunc[int](func(cx *task.Context) (int, bool) {
			h := runtime.SpawnFrom(rt, cx, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) { return 1, true })))
			keep(h)
			if h.IsFinished() {
				if _, err := h.Wait(); errors.Is(err, runtime.ErrShutdown) {
					return 0, true
				}
			}
			cx.Waker().Wake()
			return 0, false
		})
		for range 4 {
			keep(runtime.Spawn(rt, task.Future[int](spawner)))
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					h := runtime.Spawn(rt, ready(1))
					keep(h)
					if h.IsFinished() {
						if _, err := h.Wait(); errors.Is(err, runtime.ErrShutdown) {
							return
						}
					}
				}
			})
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond) // vary where Shutdown lands
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, rt.Shutdown(ctx))
		cancel()
		wg.Wait()
		mu.Lock()
		for _, h := range hs {
			require.True(t, h.IsFinished(), "round %d: a handle never ended", round)
			if _, err := h.Wait(); err != nil {
				require.ErrorIs(t, err, runtime.ErrShutdown)
			}
		}
		mu.Unlock()
	}
}
