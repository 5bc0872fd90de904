//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/runtime"
)

// waitFor bounds every wait for something that must happen.
const waitFor = 10 * time.Second

func newReactor(t *testing.T) *Reactor {
	t.Helper()
	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx))
	})
	return NewReactor(rt)
}

// socketpair returns two connected, non-blocking Unix stream sockets,
// closed when the test ends unless the test closed them.
func socketpair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		require.NoError(t, unix.SetNonblock(fd, true))
		unix.CloseOnExec(fd)
		closeAtEnd(t, fd)
	}
	return fds[0], fds[1]
}

// closeAtEnd closes fd when the test ends, if it is still the same file:
// a test that closed it may have seen the number reused.
func closeAtEnd(t *testing.T, fd int) {
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(fd, &st))
	t.Cleanup(func() {
		var now unix.Stat_t
		if unix.Fstat(fd, &now) == nil && now.Dev == st.Dev && now.Ino == st.Ino {
			unix.Close(fd)
		}
	})
}

// drainer returns a readable callback that reads fd until EAGAIN and
// sends what it read to got, one chunk per read; calls counts its calls.
func drainer(fd int, got chan<- []byte, calls *atomic.Int32) func() {
	return func() {
		calls.Add(1)
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n == 0 {
				return // EAGAIN: drained (or EOF: nothing more)
			}
			got <- bytes.Clone(buf[:n])
		}
	}
}

// receive collects chunks from got until it has want bytes.
func receive(t *testing.T, got <-chan []byte, want int) []byte {
	t.Helper()
	var b []byte
	timeout := time.After(waitFor)
	for len(b) < want {
		select {
		case chunk := <-got:
			b = append(b, chunk...)
		case <-timeout:
			t.Fatalf("received %d of %d bytes", len(b), want)
		}
	}
	return b
}

func write(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

// watchOf returns the reactor's watch of fd, to wait for its task.
func watchOf(t *testing.T, r *Reactor, fd int) *watch {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.watches[fd]
	require.NotNil(t, w, "fd %d is not watched", fd)
	return w
}

func waitDone(t *testing.T, w *watch, what string) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(waitFor):
		t.Fatalf("%s: the watch's task did not end", what)
	}
}

func TestReactorCallsBackForEveryArrival(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	// Bytes that arrived before Watch are reported too.
	write(t, b, "early")

	got := make(chan []byte, 64)
	var calls atomic.Int32
	require.NoError(t, r.Watch(a, drainer(a, got, &calls)))
	require.Equal(t, "early", string(receive(t, got, 5)))

	// One message at a time, each waited for: every edge after the
	// callback drained the socket must come through.
	for i := range 200 {
		msg := fmt.Sprintf("message %03d", i)
		write(t, b, msg)
		require.Equal(t, msg, string(receive(t, got, len(msg))))
	}
}

func TestReactorUnwatchStopsCallbacks(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	got := make(chan []byte, 64)
	var calls atomic.Int32
	require.NoError(t, r.Watch(a, drainer(a, got, &calls)))
	write(t, b, "one")
	require.Equal(t, "one", string(receive(t, got, 3)))

	w := watchOf(t, r, a)
	require.NoError(t, r.Unwatch(a))
	waitDone(t, w, "after Unwatch")
	before := calls.Load()

	// What arrives now stays in the socket: no callback took it.
	write(t, b, "two")
	buf := make([]byte, 8)
	n, err := unix.Read(a, buf)
	require.NoError(t, err)
	require.Equal(t, "two", string(buf[:n]))
	require.Equal(t, before, calls.Load(), "a callback ran after Unwatch")
	require.ErrorIs(t, r.Unwatch(a), ErrNotWatched, "a second Unwatch")

	// The descriptor can be watched again.
	require.NoError(t, r.Watch(a, drainer(a, got, &calls)))
	write(t, b, "three")
	require.Equal(t, "three", string(receive(t, got, 5)))
}

// The usual end of a connection: its callback reads the end of the
// stream, unwatches and closes its descriptor; the number is free for the
// next descriptor, which is watched and served as a new one.
func TestReactorUnwatchAndCloseFromTheCallbackFreesTheNumber(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	closed := make(chan error, 1)
	require.NoError(t, r.Watch(a, func() {
		buf := make([]byte, 64)
		for {
			n, err := unix.Read(a, buf)
			if err == unix.EAGAIN {
				return
			}
			if n == 0 || err != nil {
				uerr := r.Unwatch(a)
				closed <- errors.Join(uerr, unix.Close(a))
				return
			}
		}
	}))
	w := watchOf(t, r, a)
	write(t, b, "bye")
	require.NoError(t, unix.Close(b))
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("the callback did not see the end of the stream")
	}
	waitDone(t, w, "after the callback unwatched its fd")

	c, d := socketpair(t)
	if c == a || d == a {
		t.Logf("the new socket reuses fd %d", a)
	}
	got := make(chan []byte, 8)
	var calls atomic.Int32
	require.NoError(t, r.Watch(c, drainer(c, got, &calls)))
	write(t, d, "hello again")
	require.Equal(t, "hello again", string(receive(t, got, 11)))
}

func TestReactorNotifyWritableRunsOnceThereIsRoom(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	require.NoError(t, r.Watch(a, func() {}))

	// Fill a's send buffer.
	chunk := make([]byte, 64<<10)
	filled := 0
	for {
		n, err := unix.Write(a, chunk)
		if err == unix.EAGAIN {
			break
		}
		require.NoError(t, err)
		filled += n
	}
	// The callback writes one byte; a call that still finds no room (a
	// spurious one) arms itself again, as a real writer does.
	wrote := make(chan struct{})
	var onWritable func()
	onWritable = func() {
		if _, err := unix.Write(a, []byte{'!'}); err == unix.EAGAIN {
			if err := r.NotifyWritable(a, onWritable); err != nil {
				panic(err)
			}
			return
		}
		close(wrote)
	}
	require.NoError(t, r.NotifyWritable(a, onWritable))
	select {
	case <-wrote:
		t.Fatal("the write went through while the buffer was full")
	case <-time.After(testutil.QuietPeriod):
	}

	// The peer reads everything (blocking, for at most waitFor): that
	// makes room, and the callback's byte comes last.
	require.NoError(t, unix.SetNonblock(b, false))
	tv := unix.NsecToTimeval(waitFor.Nanoseconds())
	require.NoError(t, unix.SetsockoptTimeval(b, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
	buf := make([]byte, 64<<10)
	var last byte
	for read := 0; read < filled+1; {
		n, err := unix.Read(b, buf)
		require.NoError(t, err, "read %d of %d bytes", read, filled+1)
		require.Positive(t, n)
		read += n
		last = buf[n-1]
	}
	require.Equal(t, byte('!'), last)
	select {
	case <-wrote:
	case <-time.After(waitFor):
		t.Fatal("onWritable did not finish")
	}
}

func TestReactorCloseWaitsForTheCallbacksUnderWay(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	started, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	require.NoError(t, r.Watch(a, func() {
		close(started)
		<-release // a callback that blocks: only to hold it under way here
		returned.Store(true)
	}))
	write(t, b, "x")
	<-started

	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a callback was running")
	case <-time.After(testutil.QuietPeriod):
	}
	close(release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Close did not return after the callback did")
	}
	require.True(t, returned.Load())

	require.ErrorIs(t, r.Watch(b, func() {}), ErrClosed)
	require.ErrorIs(t, r.NotifyWritable(a, func() {}), ErrClosed)
	require.ErrorIs(t, r.Close(), ErrClosed, "a second Close")
	require.ErrorIs(t, r.Unwatch(a), ErrNotWatched)
}

func TestReactorRejectsBadInput(t *testing.T) {
	r := newReactor(t)
	a, _ := socketpair(t)

	require.Error(t, r.Watch(-1, func() {}))
	require.Error(t, r.Watch(a, nil))
	require.ErrorIs(t, r.Unwatch(a), ErrNotWatched)
	require.ErrorIs(t, r.NotifyWritable(a, func() {}), ErrNotWatched)

	require.NoError(t, r.Watch(a, func() {}))
	require.ErrorIs(t, r.Watch(a, func() {}), ErrWatched)
	require.Error(t, r.NotifyWritable(a, nil))

	// A descriptor that is not open: the poller refuses it, and nothing
	// is left behind.
	c, _ := socketpair(t)
	require.NoError(t, unix.Close(c))
	err := r.Watch(c, func() {})
	require.ErrorIs(t, err, unix.EBADF)
	require.ErrorIs(t, r.Unwatch(c), ErrNotWatched)

	require.NoError(t, r.Unwatch(a))
	require.NoError(t, r.Close())
}

// A callback that panics ends its descriptor's watch (the task ends with
// the panic as its error) and nothing else: Close still returns.
func TestReactorSurvivesAPanickingCallback(t *testing.T) {
	r := newReactor(t)
	a, b := socketpair(t)
	require.NoError(t, r.Watch(a, func() { panic("callback bug") }))
	w := watchOf(t, r, a)
	c, d := socketpair(t)
	got := make(chan []byte, 8)
	var calls atomic.Int32
	require.NoError(t, r.Watch(c, drainer(c, got, &calls)))

	write(t, b, "boom")
	waitDone(t, w, "after the panic")
	write(t, d, "still here")
	require.Equal(t, "still here", string(receive(t, got, 10)))
	require.NoError(t, r.Close())
}
