//go:build unix

package runtime_test

// Misuse of a runtime and of what it hands out: a second Shutdown, use
// after Shutdown, a registration misused or used after close, and nil
// futures. Each gets a clear error that errors.Is recognises, or the
// documented behaviour; none panics, spins or leaks. (Spawn, BlockOn and
// Register after Shutdown, Spawn and SpawnBlocking of nil, and IO's double
// Close are covered beside the features they misuse.)

import (
	"context"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/metalio/metal/internal/testutil"
	mnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// shutdownNow shuts rt down, failing the test unless it is done within
// 10 s.
func shutdownNow(t *testing.T, rt *runtime.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))
}

// firstPoll is a future that closes polled at its first poll and then
// waits on f.
type firstPoll[T any] struct {
	f      task.Future[T]
	polled chan struct{}
}

func (p *firstPoll[T]) Poll(cx *task.Context) (T, bool) {
	select {
	case <-p.polled:
	default:
		close(p.polled)
	}
	return p.f.Poll(cx)
}

func (p *firstPoll[T]) Drop() { task.Drop(p.f) }

// spawnPolled spawns f and waits for its first poll.
func spawnPolled[T any](t *testing.T, rt *runtime.Runtime, f task.Future[T]) *task.JoinHandle[T] {
	t.Helper()
	p := &firstPoll[T]{f: f, polled: make(chan struct{})}
	h := runtime.Spawn(rt, task.Future[T](p))
	select {
	case <-p.polled:
	case <-time.After(10 * time.Second):
		t.Fatal("a spawned task was not polled within 10s")
	}
	return h
}

func TestShutdownTwiceAndEverythingAfterItGetErrShutdown(t *testing.T) {
	goroutines := goruntime.NumGoroutine()
	fds := testutil.OpenFds(t)
	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(t, err)

	// Tasks waiting on the timer wheel when Shutdown comes.
	sleeping := spawnPolled(t, rt, runtime.Sleep(time.Hour))
	timing := spawnPolled(t, rt, runtime.Timeout(time.Hour, task.Pending[int]()))

	shutdownNow(t, rt)
	shutdownNow(t, rt) // a second Shutdown waits again, and is done at once
	select {
	case <-rt.Done():
	default:
		t.Fatal("Done is not closed after Shutdown returned")
	}

	_, err = sleeping.Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = timing.Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)

	_, err = runtime.SpawnFrom(rt, nil, ready(1)).Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = runtime.SpawnBlocking(rt, func() int { return 1 }).Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = runtime.BlockOn(rt, runtime.Sleep(time.Millisecond))
	require.ErrorIs(t, err, runtime.ErrShutdown)

	m := rt.Metrics()
	require.Zero(t, m.LiveTasks, "%v", m)
	require.Zero(t, m.IOSources, "%v", m)

	// A Sleep needs no runtime: polled by a plain goroutine it waits on a
	// Go timer, shut-down runtime or not.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = task.Block(ctx, runtime.Sleep(time.Millisecond))
	require.NoError(t, err)

	requireGoroutinesBackTo(t, goroutines)
	require.Equal(t, fds, testutil.OpenFds(t), "the poller's fds are closed")
}

// readyNow polls io once for interest with a Context of its own.
func readyNow(io *runtime.IO, interest poller.Interest) (runtime.Ready, bool) {
	return io.PollReady(task.NewContext(task.Waker{}), interest)
}

func TestRegisterMisuseGetsErrorsAndHoldsNoSlot(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(1))
	tx, rx, err := mnet.Pipe()
	require.NoError(t, err)
	defer tx.Close()
	defer rx.Close()

	_, err = rt.Register(nil, poller.Readable)
	require.ErrorIs(t, err, poller.ErrInvalidSource)
	_, err = rt.Register(rx, 0)
	require.ErrorIs(t, err, poller.ErrInvalidInterest)

	io, err := rt.Register(rx, poller.Readable)
	require.NoError(t, err)
	_, err = rt.Register(rx, poller.Readable)
	require.ErrorIs(t, err, poller.ErrAlreadyRegistered)
	require.Equal(t, 1, rt.Metrics().IOSources, "failed registrations hold no slot")

	require.NoError(t, io.Close())
	require.ErrorIs(t, io.Reregister(poller.Readable), runtime.ErrIOClosed)
	io.Wake(poller.Readable | poller.Writable) // does nothing
	r, ok := readyNow(io, poller.Readable)
	require.True(t, ok, "a closed IO is ready at once")
	require.True(t, r.IsClosed())
	io.ClearReady(r) // does nothing

	// The descriptor can be registered again, and a closed one cannot.
	io, err = rt.Register(rx, poller.Readable)
	require.NoError(t, err)
	require.NoError(t, io.Close())
	require.NoError(t, tx.Close())
	_, err = rt.Register(tx, poller.Writable)
	require.Error(t, err)
	// A closed registration's slot is given back at the driver's next
	// turn (an event fetched in the turn under way may still name it):
	// wake the idle worker for a task, and it turns the driver again when
	// it parks.
	_, err = runtime.BlockOn(rt, ready(0))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rt.Metrics().IOSources == 0 }, 5*time.Second, time.Millisecond,
		"closed registrations give their slots back")
}

func TestIOAfterShutdownReportsClosed(t *testing.T) {
	rt, err := runtime.New(runtime.WithWorkers(1))
	require.NoError(t, err)
	tx, rx, err := mnet.Pipe()
	require.NoError(t, err)
	defer tx.Close()
	defer rx.Close()
	io, err := rt.Register(rx, poller.Readable)
	require.NoError(t, err)

	shutdownNow(t, rt)
	r, ok := readyNow(io, poller.Readable)
	require.True(t, ok, "no waiting on a driver that is gone")
	require.True(t, r.IsClosed())
	require.ErrorIs(t, io.Reregister(poller.Readable), poller.ErrClosed)
	require.NoError(t, io.Close(), "closing what the shutdown let go of is fine")
	require.ErrorIs(t, io.Close(), runtime.ErrIOClosed)
	// The pipe itself is the caller's, untouched.
	_, err = tx.Write([]byte("x"))
	require.NoError(t, err)
}

func TestNilFuturesAreErrNilFuture(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	var none task.Future[int]

	_, err := runtime.BlockOn(rt, none)
	require.ErrorIs(t, err, task.ErrNilFuture)

	inner, err := runtime.BlockOn(rt, task.Future[*task.JoinHandle[int]](task.FutureFunc[*task.JoinHandle[int]](func(cx *task.Context) (*task.JoinHandle[int], bool) {
		return runtime.SpawnFrom(rt, cx, none), true
	})))
	require.NoError(t, err)
	_, err = waitBounded(t, inner)
	require.ErrorIs(t, err, task.ErrNilFuture, "SpawnFrom inside a task")

	res, err := runtime.BlockOn(rt, runtime.Timeout(time.Hour, none))
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, task.ErrNilFuture, "Timeout of nil")
}

// A combinator given a nil future ends its task with an error matching
// task.ErrNilFuture (the panic that ends it wraps ErrNilFuture), and
// nothing hangs. Each case runs under a Timeout, so a hang fails it.
func TestNilFuturesInCombinatorsAreErrNilFuture(t *testing.T) {
	rt := newRuntime(t, runtime.WithWorkers(2))
	var none task.Future[int]
	one := func(int) int { return 1 }
	cases := map[string]task.Future[int]{
		"Map":          task.Map(none, one),
		"Then":         task.Then(none, func(int) task.Future[int] { return task.Ready(1) }),
		"Join2 first":  task.Map(task.Join2(none, task.Ready(1)), func(task.Pair[int, int]) int { return 1 }),
		"Join2 second": task.Map(task.Join2(task.Ready(1), none), func(task.Pair[int, int]) int { return 1 }),
		"JoinAll":      task.Map(task.JoinAll(task.Ready(1), none), func([]int) int { return 1 }),
		"Select":       task.Map(task.Select(none, task.Pending[int]()), func(task.Selected[int]) int { return 1 }),
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := runtime.BlockOn(rt, runtime.Timeout(5*time.Second, f))
			if err == nil {
				err = res.Err
			}
			require.NotErrorIs(t, err, context.DeadlineExceeded, "it hung")
			require.ErrorIs(t, err, task.ErrNilFuture)
		})
	}
}

func TestBlockOfANilFutureIsAnError(t *testing.T) {
	var none task.Future[int]
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("task.Block(ctx, nil) panicked: %v", v)
		}
	}()
	_, err := task.Block(context.Background(), none)
	require.ErrorIs(t, err, task.ErrNilFuture)
}
