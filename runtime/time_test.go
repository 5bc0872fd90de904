//go:build unix

package runtime_test

import (
	"context"
	"errors"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

func TestSleepOnAPausedClockFiresOnlyWhenAdvanced(t *testing.T) {
	rt := newRuntime(t, runtime.WithPausedClock())
	start := rt.Now()
	h := runtime.Spawn(rt, runtime.Sleep(10*time.Second))
	// Let the task register its timer.
	for waitIdle(t, rt).Total().Timers == 0 {
	}
	require.NoError(t, rt.Advance(10*time.Second-time.Millisecond))
	waitIdle(t, rt)
	require.False(t, h.IsFinished(), "a timer never fires early")
	require.NoError(t, rt.Advance(time.Millisecond))
	_, err := h.Wait()
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, rt.Now().Sub(start))

	other := newRuntime(t)
	require.ErrorIs(t, other.Advance(time.Second), runtime.ErrClockNotPaused)
}

func TestTimeoutExpiresWithDeadlineExceeded(t *testing.T) {
	rt := newRuntime(t)
	start := time.Now()
	r, err := runtime.BlockOn(rt, runtime.Timeout(30*time.Millisecond, task.Pending[int]()))
	require.NoError(t, err)
	require.ErrorIs(t, r.Err, context.DeadlineExceeded)
	require.ErrorIs(t, r.Err, runtime.ErrTimeout)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "never early")
}

func TestTimeoutOfAFutureThatCompletesCancelsTheTimer(t *testing.T) {
	rt := newRuntime(t)
	r, err := runtime.BlockOn(rt, runtime.Timeout(time.Hour, task.Future[int](&countTo{n: 5})))
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.Equal(t, 5, r.Value)
	require.Zero(t, waitQuiet(t, rt).Total().Timers, "the hour-long timer left its wheel")
}

func TestAbortedSleepLeavesTheWheel(t *testing.T) {
	rt := newRuntime(t)
	var hs []*task.JoinHandle[struct{}]
	for i := 0; i < 100; i++ {
		hs = append(hs, runtime.Spawn(rt, runtime.Sleep(time.Hour)))
	}
	for waitIdle(t, rt).Total().Timers < 100 {
	}
	for _, h := range hs {
		h.Abort()
		_, err := h.Wait()
		require.ErrorIs(t, err, task.ErrAborted)
	}
	require.Zero(t, waitQuiet(t, rt).Total().Timers)
}

func TestSleepOutsideARuntimeFallsBackOnAGoTimer(t *testing.T) {
	start := time.Now()
	_, err := task.Block(context.Background(), runtime.Sleep(20*time.Millisecond))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	_, err = task.Block(context.Background(), runtime.SleepUntil(time.Now().Add(-time.Second)))
	require.NoError(t, err, "a deadline in the past completes at once")
}

// ticks polls iv n times and returns the scheduled times relative to base.
type ticks struct {
	iv   *runtime.Interval
	base time.Time
	n    int
	got  []time.Duration
}

func (tk *ticks) Poll(cx *task.Context) ([]time.Duration, bool) {
	for len(tk.got) < tk.n {
		at, ok := tk.iv.Poll(cx)
		if !ok {
			return nil, false
		}
		tk.got = append(tk.got, at.Sub(tk.base))
	}
	return tk.got, true
}

func TestIntervalMissedTickBehaviours(t *testing.T) {
	for _, tc := range []struct {
		missed runtime.MissedTicks
		want   []time.Duration
	}{
		// Period 10 ms; the test advances 0, then 35 ms at once, then 10 ms
		// at a time. Each tick reports the time it was scheduled for (as
		// tokio's does). At 35 the tick due at 10 fires late; then Burst
		// catches up 20 and 30 at once and keeps the schedule; Delay
		// schedules the next a period after 35; Skip goes on at 40.
		{runtime.Burst, []time.Duration{0, 10, 20, 30, 40, 50}},
		{runtime.Delay, []time.Duration{0, 10, 45, 55, 65, 75}},
		{runtime.Skip, []time.Duration{0, 10, 40, 50, 60, 70}},
	} {
		rt := newRuntime(t, runtime.WithPausedClock(), runtime.WithWorkers(1))
		base := rt.Now()
		tk := &ticks{iv: runtime.NewInterval(10*time.Millisecond, tc.missed), base: base, n: len(tc.want)}
		h := runtime.Spawn(rt, task.Future[[]time.Duration](tk))
		waitIdle(t, rt)
		require.NoError(t, rt.Advance(35*time.Millisecond))
		for i := 0; i < 6 && !h.IsFinished(); i++ {
			waitIdle(t, rt)
			require.NoError(t, rt.Advance(10*time.Millisecond))
		}
		got, err := h.Wait()
		require.NoError(t, err)
		for i := range got {
			got[i] /= time.Millisecond
		}
		require.Equal(t, tc.want, got, "missed ticks %d (in ms)", tc.missed)
	}
}

func TestTimerLatenessUnderLoad(t *testing.T) {
	rt := newRuntime(t)
	n := 100_000
	if raceEnabled {
		n = 20_000
	}
	// Busy workers: tasks that keep yielding for the whole run.
	var stop atomic.Bool
	for i := 0; i < 2*rt.Workers(); i++ {
		runtime.Spawn(rt, task.Future[int](&hog{stop: &stop})).Detach()
	}
	late := make([]time.Duration, n)
	hs := make([]*task.JoinHandle[struct{}], n)
	for i := range hs {
		d := time.Duration(1+rand.IntN(300)) * time.Millisecond
		i := i
		var sleep task.Future[struct{}]
		var armed time.Time
		hs[i] = runtime.Spawn(rt, task.Future[struct{}](task.FutureFunc[struct{}](func(cx *task.Context) (struct{}, bool) {
			if sleep == nil {
				sleep, armed = runtime.Sleep(d), time.Now()
			}
			if _, ok := sleep.Poll(cx); !ok {
				return struct{}{}, false
			}
			late[i] = time.Since(armed) - d
			return struct{}{}, true
		})))
	}
	for _, h := range hs {
		_, err := h.Wait()
		require.NoError(t, err)
	}
	stop.Store(true)
	slices.Sort(late)
	p50, p99, worst := late[n/2], late[n*99/100], late[n-1]
	t.Logf("%d timers beside %d busy tasks on %d workers: lateness p50 %v, p99 %v, max %v",
		n, 2*rt.Workers(), rt.Workers(), p50, p99, worst)
	require.GreaterOrEqual(t, late[0], time.Duration(0), "never early")
	require.Less(t, p99, 100*time.Millisecond, "lateness is bounded")
}

// rearm sleeps in a loop, resetting one SleepFuture, and cancels each
// sleep before it fires: the request-timeout pattern.
type rearm struct {
	sleep runtime.SleepFuture
	n     int
}

func (r *rearm) Poll(cx *task.Context) (uint64, bool) {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	before := ms.Mallocs
	for i := 0; i < r.n; i++ {
		r.sleep.Reset(time.Duration(1+i%60_000) * time.Millisecond)
		if _, ok := r.sleep.Poll(cx); ok {
			return 0, true
		}
		r.sleep.Drop()
	}
	goruntime.ReadMemStats(&ms)
	return ms.Mallocs - before, true
}

func TestTimerInsertAndCancelDoNotAllocate(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(1))
	// Warm up: the first insertions may grow nothing, but let the wheel's
	// first use happen before counting.
	_, err := runtime.BlockOn(rt, task.Future[uint64](&rearm{n: 100}))
	require.NoError(t, err)
	mallocs, err := runtime.BlockOn(rt, task.Future[uint64](&rearm{n: 10_000}))
	require.NoError(t, err)
	require.Less(t, mallocs, uint64(10), "10,000 inserts and cancels, next to no allocations")
}

func TestContextDone(t *testing.T) {
	rt := newRuntime(t)
	ctx, cancel := context.WithCancel(context.Background())
	h := runtime.Spawn(rt, task.ContextDone(ctx))
	waitIdle(t, rt)
	require.False(t, h.IsFinished())
	cancel()
	err, werr := h.Wait()
	require.NoError(t, werr)
	require.True(t, errors.Is(err, context.Canceled))
}
