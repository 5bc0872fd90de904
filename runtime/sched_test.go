//go:build unix

package runtime_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// mailbox counts messages and wakes the task waiting for one.
type mailbox struct {
	mu    sync.Mutex
	count int
	waker task.Waker
}

func (m *mailbox) post() {
	m.mu.Lock()
	m.count++
	w := m.waker
	m.waker = task.Waker{}
	m.mu.Unlock()
	w.Wake()
}

func (m *mailbox) take(cx *task.Context) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.count > 0 {
		m.count--
		return true
	}
	m.waker = cx.Waker()
	return false
}

// pinger sends a message to its peer's mailbox and waits for one in its
// own, rounds times.
type pinger struct {
	in, out *mailbox
	rounds  int
	first   bool // sends before it waits
	sent    int
	got     int
}

func (p *pinger) Poll(cx *task.Context) (int, bool) {
	for {
		if p.first && p.sent == p.got && p.sent < p.rounds {
			p.sent++
			p.out.post()
		}
		if p.got == p.rounds {
			return p.got, true
		}
		if !p.in.take(cx) {
			return 0, false
		}
		p.got++
		if !p.first {
			p.sent++
			p.out.post()
		}
	}
}

func TestNoLostWakeupsBetweenTasksAndGoroutines(t *testing.T) {
	rt := newRuntime(t)
	pairs, rounds := 200, 200
	if testing.Short() {
		pairs, rounds = 50, 50
	}
	var hs []*task.JoinHandle[int]
	var wg sync.WaitGroup
	for i := 0; i < pairs; i++ {
		a, b := &mailbox{}, &mailbox{}
		hs = append(hs, runtime.Spawn(rt, task.Future[int](&pinger{in: a, out: b, rounds: rounds, first: true})))
		if i%4 == 0 {
			// Every fourth partner is an ordinary goroutine, waking the
			// task from outside the runtime.
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := task.Block(t.Context(), task.Future[int](&pinger{in: b, out: a, rounds: rounds}))
				if err != nil || v != rounds {
					t.Errorf("goroutine partner: %d, %v", v, err)
				}
			}()
		} else {
			hs = append(hs, runtime.Spawn(rt, task.Future[int](&pinger{in: b, out: a, rounds: rounds})))
		}
	}
	for _, h := range hs {
		v, err := h.Wait()
		require.NoError(t, err)
		require.Equal(t, rounds, v)
	}
	wg.Wait()
}

// spinner burns about d of CPU per poll, then yields, polls times. If
// started is set, the first poll adds one to it; if gate is set, it only
// yields, burning nothing and counting no poll, until gate is true.
type spinner struct {
	d       time.Duration
	polls   int
	started *atomic.Int64
	gate    *atomic.Bool
	began   bool
}

func (s *spinner) Poll(cx *task.Context) (int, bool) {
	if !s.began && s.started != nil {
		s.started.Add(1)
	}
	s.began = true
	if s.gate != nil && !s.gate.Load() {
		cx.Waker().Wake()
		return 0, false
	}
	if s.polls == 0 {
		return 0, true
	}
	s.polls--
	end := time.Now().Add(s.d)
	for time.Now().Before(end) {
	}
	cx.Waker().Wake()
	return 0, false
}

func TestWorkStealingSpreadsLoad(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	// A task that holds its worker for a while without yielding...
	var hogging atomic.Bool
	var release atomic.Bool
	hogH := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
		hogging.Store(true)
		for !release.Load() {
		}
		return 0, true
	})))
	for !hogging.Load() {
		time.Sleep(time.Millisecond)
	}
	// ...so the other worker takes every spinner from the inject queue,
	// and, since spinners go back to the ring of the worker that ran
	// them, ends up holding all of them.
	var hs []*task.JoinHandle[int]
	var started atomic.Int64
	for i := 0; i < 100; i++ {
		hs = append(hs, runtime.Spawn(rt, task.Future[int](&spinner{d: 50 * time.Microsecond, polls: 50, started: &started, gate: &release})))
	}
	// Every spinner has left the inject queue once each has been polled.
	// Until the release they only yield, so the work is all still to do
	// when the hog lets go, however long this goroutine waited for a
	// thread (under the race detector, with both workers busy, it once
	// waited until the free worker had done everything alone): what
	// stealing must show is the split after the release.
	for started.Load() < int64(len(hs)) {
		time.Sleep(time.Millisecond)
	}
	before := rt.Metrics()
	// The hog's worker is free again: the only work left is in the other
	// worker's ring, so it has to steal to help.
	release.Store(true)
	_, err := hogH.Wait()
	require.NoError(t, err)
	for _, h := range hs {
		_, err := h.Wait()
		require.NoError(t, err)
	}
	m := waitQuiet(t, rt)
	total := m.Total()
	require.Positive(t, total.Steals, "the freed worker stole: %v", m)
	// Published counters lag (a busy worker publishes now and then), so
	// the split is checked loosely: each worker did at least a fifth of
	// the polls made after the release; an even split is a half.
	after := total.Polls - before.Total().Polls
	for i, w := range m.Workers {
		did := w.Polls - before.Workers[i].Polls
		require.Greater(t, did, after/5, "worker %d did a share of the polls after the release: before %v, after %v", i, before, m)
	}
	t.Logf("before the release %v; at the end %v", before, m)
}

func TestIdleRuntimeDoesNotSpin(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	_, err := runtime.Spawn(rt, ready(1)).Wait()
	require.NoError(t, err)
	before := waitQuiet(t, rt).Total().Parks
	time.Sleep(50 * time.Millisecond)
	after := rt.Metrics().Total().Parks
	require.LessOrEqual(t, after-before, uint64(2), "idle workers stay asleep")
}

// waitQuiet waits for every task to finish and every worker to go idle
// (so their counters are published) and returns the metrics.
func waitQuiet(t *testing.T, rt *runtime.Runtime) runtime.Metrics {
	t.Helper()
	return waitFor(t, rt, func(m runtime.Metrics) bool { return m.LiveTasks == 0 })
}

// waitIdle waits for the workers to run out of work (tasks may be waiting)
// and returns the metrics.
func waitIdle(t *testing.T, rt *runtime.Runtime) runtime.Metrics {
	t.Helper()
	return waitFor(t, rt, func(runtime.Metrics) bool { return true })
}

func waitFor(t *testing.T, rt *runtime.Runtime, cond func(runtime.Metrics) bool) runtime.Metrics {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := rt.Metrics()
		if cond(m) && m.InjectDepth == 0 && m.Total().LocalDepth == 0 {
			prev := m.Total().Polls
			time.Sleep(5 * time.Millisecond)
			if m2 := rt.Metrics(); m2.Total().Polls == prev {
				return m2
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime not quiet: %v", m)
		}
		time.Sleep(time.Millisecond)
	}
}

// hog never waits: every poll spends its whole budget and is forced to
// yield, until stop.
type hog struct{ stop *atomic.Bool }

func (h *hog) Poll(cx *task.Context) (int, bool) {
	for !h.stop.Load() {
		if !cx.Proceed() {
			return 0, false
		}
	}
	return 0, true
}

func TestHotTasksDoNotStarveALatencyProbe(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(1))
	var stop atomic.Bool
	var hogs []*task.JoinHandle[int]
	for i := 0; i < 4; i++ {
		hogs = append(hogs, runtime.Spawn(rt, task.Future[int](&hog{stop: &stop})))
	}
	// The probe is woken from outside every millisecond and records how
	// long each wake took to reach a poll.
	box := &mailbox{}
	var worst atomic.Int64
	var sentAt atomic.Int64
	probe := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(cx *task.Context) (int, bool) {
		for box.take(cx) {
			if d := time.Now().UnixNano() - sentAt.Load(); d > worst.Load() {
				worst.Store(d)
			}
			if stop.Load() {
				return 0, true
			}
		}
		return 0, false
	})))
	for i := 0; i < 100; i++ {
		sentAt.Store(time.Now().UnixNano())
		box.post()
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	box.post()
	_, err := probe.Wait()
	require.NoError(t, err)
	for _, h := range hogs {
		_, err := h.Wait()
		require.NoError(t, err)
	}
	w := time.Duration(worst.Load())
	t.Logf("worst wake-to-poll latency beside 4 hot tasks on 1 worker: %v", w)
	require.Less(t, w, 100*time.Millisecond, "budget-forced yields let the probe in")
	require.Positive(t, rt.Metrics().Total().ForcedYields)
}

func TestAbortIdleAndRunningTasks(t *testing.T) {
	rt := newRuntime(t)
	started := make(chan struct{})
	idle := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
		select {
		case <-started:
		default:
			close(started)
		}
		return 0, false
	})))
	<-started
	idle.Abort()
	_, err := idle.Wait()
	require.ErrorIs(t, err, task.ErrAborted)

	// Abort from inside the task's own poll, and from another goroutine
	// while it runs.
	var self *task.JoinHandle[int]
	ready := make(chan struct{})
	self = runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(cx *task.Context) (int, bool) {
		<-ready
		self.Abort()
		return 0, false
	})))
	close(ready)
	_, err = self.Wait()
	require.ErrorIs(t, err, task.ErrAborted)

	var spinning atomic.Bool
	busy := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(cx *task.Context) (int, bool) {
		spinning.Store(true)
		cx.Waker().Wake()
		return 0, false
	})))
	for !spinning.Load() {
		time.Sleep(time.Millisecond)
	}
	busy.Abort()
	_, err = busy.Wait()
	require.ErrorIs(t, err, task.ErrAborted)
}

func TestSpawnBlocking(t *testing.T) {
	rt := newRuntime(t, runtime.WithMaxBlocking(2))
	release := make(chan struct{})
	var running atomic.Int32
	var peak atomic.Int32
	var hs []*task.JoinHandle[int]
	for i := 0; i < 6; i++ {
		hs = append(hs, runtime.SpawnBlocking(rt, func() int {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return i
		}))
	}
	close(release)
	for i, h := range hs {
		v, err := h.Wait()
		require.NoError(t, err)
		require.Equal(t, i, v)
	}
	require.LessOrEqual(t, peak.Load(), int32(2), "the pool is bounded")
	require.Positive(t, peak.Load())

	_, err := runtime.SpawnBlocking(rt, func() int { panic("blocking boom") }).Wait()
	require.ErrorIs(t, err, task.ErrPanicked)
	_, err = runtime.SpawnBlocking[int](rt, nil).Wait()
	require.ErrorIs(t, err, task.ErrNilFuture)
}

func TestSpawnNilFutureIsAnError(t *testing.T) {
	rt := newRuntime(t)
	_, err := runtime.Spawn[int](rt, nil).Wait()
	require.ErrorIs(t, err, task.ErrNilFuture)
}

func TestShutdownWaitsForBlockingWorkOrTheContext(t *testing.T) {
	rt, err := runtime.New()
	require.NoError(t, err)
	release, started := make(chan struct{}), make(chan struct{})
	h := runtime.SpawnBlocking(rt, func() int { close(started); <-release; return 1 })
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, rt.Shutdown(ctx), context.DeadlineExceeded)
	close(release)
	require.NoError(t, rt.Shutdown(t.Context()))
	v, err := h.Wait()
	require.NoError(t, err, "a blocking function that started runs to its end")
	require.Equal(t, 1, v)
}

func TestMetricsAreExportedThroughExpvar(t *testing.T) {
	rt := newRuntime(t)
	_, err := runtime.Spawn(rt, ready(1)).Wait()
	require.NoError(t, err)
	s := rt.Expvar().String()
	require.Contains(t, s, `"workers":[`)
	require.Contains(t, s, `"polls":`)
}

func TestShutdownCancelsQueuedBlockingWork(t *testing.T) {
	rt, err := runtime.New(runtime.WithMaxBlocking(1))
	require.NoError(t, err)
	release, started := make(chan struct{}), make(chan struct{})
	first := runtime.SpawnBlocking(rt, func() int { close(started); <-release; return 1 })
	<-started
	var queued []*task.JoinHandle[int]
	var ran atomic.Int32
	for range 5 {
		queued = append(queued, runtime.SpawnBlocking(rt, func() int { ran.Add(1); return 2 }))
	}
	done := make(chan error, 1)
	go func() { done <- rt.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool { return queued[0].IsFinished() }, 10*time.Second, time.Millisecond,
		"Shutdown cancels the backlog without waiting for the running function")
	close(release)
	require.NoError(t, <-done)
	v, err := first.Wait()
	require.NoError(t, err)
	require.Equal(t, 1, v)
	for _, h := range queued {
		_, err := h.Wait()
		require.ErrorIs(t, err, runtime.ErrShutdown)
	}
	require.Zero(t, ran.Load())
}
