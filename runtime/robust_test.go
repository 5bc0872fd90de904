//go:build unix

package runtime_test

// Robustness of a runtime of two workers against tasks that misbehave: a
// task that panics, a task that blocks its worker (a time.Sleep inside its
// Poll, as a blocking system call would), and tasks that never wait. Each scenario runs latency probes
// beside the misbehaving task and asserts a generous bound on the worst
// latency they saw; the figures are logged (go test -v) so they can be
// read and compared.
//
// The probes:
//
//   - spawn probe: a goroutine spawns a small task every millisecond, and
//     each records how long it waited from Spawn to its first poll.
//   - sleep probe: one long-lived task that sleeps 1 ms on the runtime's
//     timers, over and over, and records the longest gap between two of its
//     wake-ups.
//   - wake probe: one long-lived task woken from outside every millisecond,
//     that records how long each wake took to reach a poll.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// probeBound is the worst latency a probe may see beside a misbehaving
// task on a runtime with a free worker. Healthy figures are a few
// milliseconds, and up to about 120 ms under -race on a shared machine
// with a load average of 11 on its 2 cores; the bound is generous because
// a test that fails only for the machine's load teaches nothing. A
// starved probe waits as long as the misbehaviour lasts (1 s here).
const probeBound = 500 * time.Millisecond

// Beside tasks that never wait, the runtime's own threads are busy, and
// the probes' latency is at the mercy of the machine: under -race with a
// load average of 11 on 2 cores, sleep-probe gaps of up to 430 ms were
// seen. So the busy scenario lasts busyWindow and allows busyBound: a
// probe starved for most of the window still fails it.
const (
	busyWindow = 2 * time.Second
	busyBound  = time.Second
)

// probeTimeout bounds every wait of these tests for a probe or a task, so
// that a failure ends the test rather than hanging it.
const probeTimeout = 10 * time.Second

// maxDuration is an atomic running maximum.
type maxDuration struct{ v atomic.Int64 }

func (m *maxDuration) observe(d time.Duration) {
	for {
		cur := m.v.Load()
		if int64(d) <= cur || m.v.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

func (m *maxDuration) load() time.Duration { return time.Duration(m.v.Load()) }

// spawnProbe spawns a task every millisecond from a goroutine of its own.
type spawnProbe struct {
	worst maxDuration
	ran   atomic.Int64 // probe tasks that have run
	stop  chan struct{}
	done  chan struct{}
}

func startSpawnProbe(rt *runtime.Runtime) *spawnProbe {
	p := &spawnProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			at := time.Now()
			runtime.Spawn(rt, task.Future[struct{}](task.FutureFunc[struct{}](func(*task.Context) (struct{}, bool) {
				p.worst.observe(time.Since(at))
				p.ran.Add(1)
				return struct{}{}, true
			}))).Detach()
		}
	}()
	return p
}

// finish stops the spawning and returns the worst spawn-to-poll latency.
func (p *spawnProbe) finish() time.Duration {
	close(p.stop)
	<-p.done
	return p.worst.load()
}

// sleepProbe is a task that sleeps 1 ms on the runtime's timers over and
// over, and records the longest gap between two wake-ups.
type sleepProbe struct {
	sleep runtime.SleepFuture
	armed bool
	last  time.Time
	worst maxDuration
	fires atomic.Int64
	stop  atomic.Bool
	// warm is closed after the first 20 wake-ups.
	warm chan struct{}
	// onFire, when set, runs in the poll after each wake-up.
	onFire func(cx *task.Context)
}

func newSleepProbe() *sleepProbe { return &sleepProbe{warm: make(chan struct{})} }

func (p *sleepProbe) Poll(cx *task.Context) (time.Duration, bool) {
	for {
		if !p.armed {
			p.sleep.Reset(time.Millisecond)
			p.armed = true
		}
		if _, ok := p.sleep.Poll(cx); !ok {
			return 0, false
		}
		p.armed = false
		now := time.Now()
		if !p.last.IsZero() {
			p.worst.observe(now.Sub(p.last))
		}
		p.last = now
		if p.fires.Add(1) == 20 {
			close(p.warm)
		}
		if p.stop.Load() {
			return p.worst.load(), true
		}
		if p.onFire != nil {
			p.onFire(cx)
		}
	}
}

func (p *sleepProbe) Drop() { p.sleep.Drop() }

// waitFires waits until the probe has woken n more times than it had
// when waitFires was called.
func (p *sleepProbe) waitFires(t *testing.T, n int64) {
	t.Helper()
	target := p.fires.Load() + n
	deadline := time.Now().Add(probeTimeout)
	for p.fires.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("the sleep probe woke %d times in %v, want %d", p.fires.Load()-target+n, probeTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// wakeProbe is a task woken from outside every millisecond; it records
// how long each wake took to reach a poll.
type wakeProbe struct {
	mu    sync.Mutex
	sent  []time.Time // wakes not yet seen by a poll
	waker task.Waker
	stop  bool
	worst maxDuration
	seen  atomic.Int64

	quit chan struct{}
	done chan struct{}
	// onPoll, when set, runs at the end of each poll that waits.
	onPoll func(cx *task.Context)
}

func (p *wakeProbe) Poll(cx *task.Context) (time.Duration, bool) {
	now := time.Now()
	p.mu.Lock()
	for _, at := range p.sent {
		p.worst.observe(now.Sub(at))
	}
	p.seen.Add(int64(len(p.sent)))
	p.sent = p.sent[:0]
	if p.stop {
		p.mu.Unlock()
		return p.worst.load(), true
	}
	p.waker = cx.Waker()
	p.mu.Unlock()
	if p.onPoll != nil {
		p.onPoll(cx)
	}
	return 0, false
}

func (p *wakeProbe) post(stop bool) {
	p.mu.Lock()
	p.sent = append(p.sent, time.Now())
	p.stop = p.stop || stop
	w := p.waker
	p.waker = task.Waker{}
	p.mu.Unlock()
	w.Wake()
}

// startWakeProbe spawns the probe task and a goroutine that wakes it
// every millisecond until finish.
func startWakeProbe(rt *runtime.Runtime) (*wakeProbe, *task.JoinHandle[time.Duration]) {
	return startWakeProbeWith(rt, nil)
}

// startWakeProbeWith is startWakeProbe with an onPoll hook.
func startWakeProbeWith(rt *runtime.Runtime, onPoll func(*wakeProbe, *task.Context)) (*wakeProbe, *task.JoinHandle[time.Duration]) {
	p := &wakeProbe{quit: make(chan struct{}), done: make(chan struct{})}
	if onPoll != nil {
		p.onPoll = func(cx *task.Context) { onPoll(p, cx) }
	}
	h := runtime.Spawn(rt, task.Future[time.Duration](p))
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				p.post(true)
				return
			case <-tick.C:
				p.post(false)
			}
		}
	}()
	return p, h
}

func (p *wakeProbe) finish(t *testing.T, h *task.JoinHandle[time.Duration]) time.Duration {
	t.Helper()
	close(p.quit)
	<-p.done
	worst, err := waitBounded(t, h)
	require.NoError(t, err)
	return worst
}

// waitBounded waits for h, failing the test after probeTimeout.
func waitBounded[T any](t *testing.T, h *task.JoinHandle[T]) (T, error) {
	t.Helper()
	done := make(chan struct{})
	var v T
	var err error
	go func() {
		defer close(done)
		v, err = h.Wait()
	}()
	select {
	case <-done:
		return v, err
	case <-time.After(probeTimeout):
		h.Abort()
		<-done
		t.Fatalf("task %d did not finish within %v", h.ID(), probeTimeout)
		return v, err
	}
}

// waitCount waits until c reaches n, failing the test after probeTimeout.
func waitCount(t *testing.T, c *atomic.Int64, n int64, what string) {
	t.Helper()
	deadline := time.Now().Add(probeTimeout)
	for c.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d within %v, want %d", what, c.Load(), probeTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// panicker panics in its first poll, or, with later set, after a wake in
// its second, with value v.
type panicker struct {
	v     any
	later bool
	y     task.Yield
}

func (p *panicker) Poll(cx *task.Context) (int, bool) {
	if p.later {
		if _, ok := p.y.Poll(cx); !ok {
			return 0, false
		}
	}
	panic(p.v)
}

var errProbeBoom = errors.New("probe boom")

func TestPanickingTasksEndWithTheirPanicAndOthersKeepBeingServed(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	sleeper := newSleepProbe()
	sleepH := runtime.Spawn(rt, task.Future[time.Duration](sleeper))
	<-sleeper.warm
	spawns := startSpawnProbe(rt)
	wakes, wakeH := startWakeProbe(rt)

	// 300 tasks panic: a third with a string at their first poll, a third
	// with an error after a wake, a third spawned from inside a task onto
	// its worker's own queue.
	const n = 300
	type spawned struct {
		h *task.JoinHandle[int]
		v any
	}
	var hs []spawned
	for i := range n / 3 {
		v := fmt.Sprintf("kaput %d", i)
		hs = append(hs, spawned{runtime.Spawn(rt, task.Future[int](&panicker{v: v})), v})
		ev := fmt.Errorf("wrapped %d: %w", i, errProbeBoom)
		hs = append(hs, spawned{runtime.Spawn(rt, task.Future[int](&panicker{v: ev, later: true})), ev})
	}
	inner, err := runtime.BlockOn(rt, task.Future[[]spawned](task.FutureFunc[[]spawned](func(cx *task.Context) ([]spawned, bool) {
		var out []spawned
		for i := range n / 3 {
			v := i
			out = append(out, spawned{runtime.SpawnFrom(rt, cx, task.Future[int](&panicker{v: v, later: i%2 == 0})), v})
		}
		return out, true
	})))
	require.NoError(t, err)
	hs = append(hs, inner...)

	for _, s := range hs {
		_, err := waitBounded(t, s.h)
		require.ErrorIs(t, err, task.ErrPanicked)
		var pe *task.PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, s.v, pe.Value, "the error carries the panic value")
		require.Contains(t, err.Error(), fmt.Sprint(s.v))
		require.True(t, strings.Contains(string(pe.Stack), "panicker"), "the stack is the panicking goroutine's")
		if e, ok := s.v.(error); ok {
			require.ErrorIs(t, err, errProbeBoom, "an error value unwraps")
			require.ErrorIs(t, err, e)
		}
	}

	// The probes kept being served through the panics, and still are.
	sleeper.waitFires(t, 20)
	waitCount(t, &spawns.ran, spawns.ran.Load()+20, "spawn probe tasks after the panics")
	v, err := runtime.BlockOn(rt, ready(7))
	require.NoError(t, err)
	require.Equal(t, 7, v)

	spawnWorst := spawns.finish()
	wakeWorst := wakes.finish(t, wakeH)
	sleeper.stop.Store(true)
	sleepWorst, err := waitBounded(t, sleepH)
	require.NoError(t, err)
	m := waitQuiet(t, rt)
	t.Logf("%d panics on 2 workers: worst spawn-to-poll %v, sleep-probe gap %v, wake-to-poll %v", n, spawnWorst, sleepWorst, wakeWorst)
	require.Zero(t, m.LiveTasks, "panicked tasks left the live set")
	for i, w := range m.Workers {
		require.Positive(t, w.Polls, "worker %d kept polling: %v", i, m)
	}
	require.Less(t, spawnWorst, probeBound)
	require.Less(t, sleepWorst, probeBound)
	require.Less(t, wakeWorst, probeBound)
}

// blocker blocks its worker's goroutine for d in its first poll, as a
// task calling a blocking function by mistake would. started is closed
// when the block begins.
type blocker struct {
	d       time.Duration
	started chan struct{}
}

func (b *blocker) Poll(*task.Context) (time.Duration, bool) {
	begin := time.Now()
	close(b.started)
	time.Sleep(b.d)
	return time.Since(begin), true
}

func TestABlockedWorkerLeavesTheOtherToServeNewTasks(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	spawns := startSpawnProbe(rt)
	waitCount(t, &spawns.ran, 20, "spawn probe tasks before the block")

	b := &blocker{d: time.Second, started: make(chan struct{})}
	h := runtime.Spawn(rt, task.Future[time.Duration](b))
	<-b.started
	ranBefore := spawns.ran.Load()
	blocked, err := waitBounded(t, h)
	require.NoError(t, err)
	ranDuring := spawns.ran.Load() - ranBefore
	waitCount(t, &spawns.ran, spawns.ran.Load()+20, "spawn probe tasks after the block")
	worst := spawns.finish()

	t.Logf("a worker blocked %v: %d probe tasks ran meanwhile, worst spawn-to-poll %v", blocked.Round(time.Millisecond), ranDuring, worst)
	require.GreaterOrEqual(t, blocked, time.Second)
	// One spawn a millisecond for a second: the free worker ran them.
	// Ticker ticks are dropped when the spawning goroutine is slow, so
	// ask for a fraction.
	require.Greater(t, ranDuring, int64(100), "tasks spawned during the block were served")
	require.Less(t, worst, probeBound)
}

// busyYielder never waits: every poll wakes its own task and returns
// pending, so it is always queued again.
type busyYielder struct {
	polls atomic.Int64
	stop  *atomic.Bool
}

func (b *busyYielder) Poll(cx *task.Context) (int64, bool) {
	n := b.polls.Add(1)
	if b.stop.Load() {
		return n, true
	}
	cx.Waker().Wake()
	return 0, false
}

// budgetBurner never waits either: it passes values to itself through a
// task.Chan, every send and receive an operation on the task's budget,
// until the budget runs out and the channel's futures return pending on
// purpose.
type budgetBurner struct {
	tx    *task.Sender[int]
	rx    *task.Receiver[int]
	send  *task.SendFuture[int]
	moved atomic.Int64
	stop  *atomic.Bool
}

func newBudgetBurner(stop *atomic.Bool) *budgetBurner {
	tx, rx := task.NewChan[int](1)
	return &budgetBurner{tx: tx, rx: rx, send: tx.Send(0), stop: stop}
}

func (b *budgetBurner) Poll(cx *task.Context) (int64, bool) {
	for !b.stop.Load() {
		// A send that completed stays complete (ready at once) until
		// Reset, so a poll that ended in the receive comes back to it.
		err, ok := b.send.Poll(cx)
		if !ok {
			return 0, false
		}
		if err != nil {
			panic(err)
		}
		res, ok := b.rx.Recv().Poll(cx)
		if !ok {
			return 0, false
		}
		b.send.Reset(res.Value + 1)
		b.moved.Add(1)
	}
	return b.moved.Load(), true
}

func TestTasksThatNeverWaitDoNotStarveTheOthers(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	sleeper := newSleepProbe()
	sleepH := runtime.Spawn(rt, task.Future[time.Duration](sleeper))
	<-sleeper.warm
	spawns := startSpawnProbe(rt)
	wakes, wakeH := startWakeProbe(rt)

	// Two of each kind, so that each worker has a never-waiting task
	// whichever way they spread.
	var stop atomic.Bool
	yielders := []*busyYielder{{stop: &stop}, {stop: &stop}}
	burners := []*budgetBurner{newBudgetBurner(&stop), newBudgetBurner(&stop)}
	var hs []*task.JoinHandle[int64]
	for i := range 2 {
		hs = append(hs, runtime.Spawn(rt, task.Future[int64](yielders[i])))
		hs = append(hs, runtime.Spawn(rt, task.Future[int64](burners[i])))
	}
	fires := sleeper.fires.Load()
	start := time.Now()
	// The load runs for busyWindow: the window the probes measure.
	time.Sleep(busyWindow)
	fires = sleeper.fires.Load() - fires
	stop.Store(true)
	for _, h := range hs {
		_, err := waitBounded(t, h)
		require.NoError(t, err)
	}
	window := time.Since(start)
	spawnWorst := spawns.finish()
	wakeWorst := wakes.finish(t, wakeH)
	sleeper.stop.Store(true)
	sleepWorst, err := waitBounded(t, sleepH)
	require.NoError(t, err)
	m := waitQuiet(t, rt)

	t.Logf("2 busy yielders and 2 budget burners for %v: worst spawn-to-poll %v, sleep-probe gap %v (%d wake-ups), wake-to-poll %v; yielder polls %d and %d, burner messages %d and %d, forced yields %d",
		window.Round(time.Millisecond), spawnWorst, sleepWorst, fires, wakeWorst,
		yielders[0].polls.Load(), yielders[1].polls.Load(), burners[0].moved.Load(), burners[1].moved.Load(), m.Total().ForcedYields)
	// The load was real: every hog kept being polled, and the burners
	// were stopped by their budget.
	for _, y := range yielders {
		require.Greater(t, y.polls.Load(), int64(100))
	}
	for _, b := range burners {
		require.Greater(t, b.moved.Load(), int64(task.Budget))
	}
	require.Positive(t, m.Total().ForcedYields)
	require.Less(t, spawnWorst, busyBound)
	require.Less(t, sleepWorst, busyBound)
	require.Less(t, wakeWorst, busyBound)
}

// homeOfBlocker arranges, on one worker, a timer and a waiting task whose
// home is that worker, and then blocks the worker for block: its first
// poll spawns the waiter (which runs next, on this worker, and waits on a
// oneshot) and yields; its second arms a sleep of sleep and spawns the
// blocker, which runs next on this worker. It then waits for the sleep and
// records how late it ran.
type homeOfBlocker struct {
	rt      *runtime.Runtime
	block   time.Duration
	sleepD  time.Duration
	pong    *task.OneshotReceiver[struct{}]
	waiter  *task.JoinHandle[time.Time]
	blocker *blocker
	sleep   task.Future[struct{}]
	armed   time.Time
	polls   int
}

func (h *homeOfBlocker) Poll(cx *task.Context) (time.Duration, bool) {
	h.polls++
	switch h.polls {
	case 1:
		h.waiter = runtime.SpawnFrom(h.rt, cx, task.Future[time.Time](task.FutureFunc[time.Time](func(cx *task.Context) (time.Time, bool) {
			if _, ok := h.pong.Poll(cx); !ok {
				return time.Time{}, false
			}
			return time.Now(), true
		})))
		cx.Waker().Wake()
		return 0, false
	case 2:
		h.sleep, h.armed = runtime.Sleep(h.sleepD), time.Now()
		if _, ok := h.sleep.Poll(cx); ok {
			return 0, true
		}
		runtime.SpawnFrom(h.rt, cx, task.Future[time.Duration](h.blocker)).Detach()
		return 0, false
	}
	if _, ok := h.sleep.Poll(cx); !ok {
		return 0, false
	}
	return time.Since(h.armed) - h.sleepD, true
}

// A worker blocked inside a poll for a second holds neither the timers in
// its wheel nor the tasks woken for it: the other worker finds it stuck
// (rescue.go), fires its timers and takes its wakes. Without that, both
// waited the whole second.
func TestAStuckWorkersTimersAndWakesAreTakenByAnother(t *testing.T) {
	const block, sleep = time.Second, 20 * time.Millisecond
	rt := newRuntime(t, runtime.WithWorkers(2))
	rescues := func() (n, timers uint64) {
		for _, w := range rt.Metrics().Workers {
			n += w.Rescues
			timers += w.TimersRescued
		}
		return n, timers
	}
	// The blocker may land on the other worker (a searching worker can
	// take it from the LIFO slot first); then nothing is stuck with the
	// timer, and the attempt is run again.
	for attempt := 1; ; attempt++ {
		_, timersBefore := rescues()
		pongTx, pongRx := task.NewOneshot[struct{}]()
		b := &blocker{d: block, started: make(chan struct{})}
		home := &homeOfBlocker{rt: rt, block: block, sleepD: sleep, pong: pongRx, blocker: b}
		h := runtime.Spawn(rt, task.Future[time.Duration](home))
		select {
		case <-b.started:
		case <-time.After(probeTimeout):
			t.Fatal("the blocker never ran")
		}
		sent := time.Now()
		require.NoError(t, pongTx.Send(struct{}{}))
		woke, err := waitBounded(t, home.waiter)
		require.NoError(t, err)
		late, err := waitBounded(t, h)
		require.NoError(t, err)
		_, timersAfter := rescues()
		wakeLatency := woke.Sub(sent)
		t.Logf("attempt %d: the timer ran %v late, the wake took %v to reach its poll, %d timers rescued",
			attempt, late.Round(time.Microsecond), wakeLatency.Round(time.Microsecond), timersAfter-timersBefore)
		require.Less(t, late, probeBound, "a timer on the stuck worker waited for it")
		require.Less(t, wakeLatency, probeBound, "a task woken for the stuck worker waited for it")
		if timersAfter > timersBefore {
			break // the timer was on the stuck worker, and another fired it
		}
		require.Less(t, attempt, 10, "the blocker never shared a worker with the timer")
		// Let the blocker end before the next attempt.
		time.Sleep(block)
	}
	n, _ := rescues()
	require.Positive(t, n)
}
