//go:build unix

package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
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
