//go:build unix

package net_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	stdnet "net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// echoTask echoes one connection: a hand-written future that reads, then
// writes what it read, until the peer closes. It owns the connection:
// cancelled (Drop), it closes it.
type echoTask struct {
	c       *metalnet.Conn
	buf     [4096]byte
	w       metalnet.WriteFuture
	writing bool
	reads   *atomic.Int64 // if set, counts the reads, before their echoes
}

func (e *echoTask) Drop() { e.c.Close() }

func (e *echoTask) Poll(cx *task.Context) (error, bool) {
	for {
		if e.writing {
			res, ok := e.w.Poll(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				e.c.Close()
				return res.Err, true
			}
			e.writing = false
		}
		res, ok := e.c.PollRead(cx, e.buf[:])
		if !ok {
			return nil, false
		}
		if res.Err != nil {
			e.c.Close()
			if res.Err == io.EOF {
				return nil, true
			}
			return res.Err, true
		}
		if e.reads != nil {
			e.reads.Add(1)
		}
		e.w = e.c.WriteAsync(e.buf[:res.Value])
		e.writing = true
	}
}

// serveEcho runs an accept loop task on l that spawns an echoTask per
// connection; it ends with the error that stopped it (net.ErrClosed once l
// is closed).
func serveEcho(rt *runtime.Runtime, l *metalnet.Listener) *task.JoinHandle[error] {
	return runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := l.PollAccept(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			runtime.SpawnFrom(rt, cx, task.Future[error](&echoTask{c: res.Value})).Detach()
		}
	})))
}

func TestTasksServeEchoToManyClientsThroughTheDriver(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			rt := newRuntime(t)
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = t.TempDir() + "/echo.sock"
			}
			l, err := metalnet.ListenRuntime(rt, network, addr)
			require.NoError(t, err)
			loop := serveEcho(rt, l)

			const clients, rounds = 32, 20
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for range clients {
				wg.Go(func() {
					c, err := stdnet.Dial(network, l.Addr().String())
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					out := make([]byte, 10_000)
					in := make([]byte, len(out))
					for range rounds {
						rand.Read(out)
						if _, err := c.Write(out); err != nil {
							errs <- err
							return
						}
						if _, err := io.ReadFull(c, in); err != nil {
							errs <- err
							return
						}
						if !bytes.Equal(in, out) {
							errs <- errors.New("echo differs from what was sent")
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.NoError(t, l.Close())
			v, err := loop.Wait()
			require.NoError(t, err)
			require.ErrorIs(t, v, stdnet.ErrClosed, "the accept loop ends when its listener closes")
		})
	}
}

// pollCounter wraps a future and counts its polls.
type pollCounter[T any] struct {
	f     task.Future[T]
	polls atomic.Int32
}

func (p *pollCounter[T]) Poll(cx *task.Context) (T, bool) {
	p.polls.Add(1)
	return p.f.Poll(cx)
}

func TestAPendingReadIsWokenWhenBytesArrive(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()

	buf := make([]byte, 16)
	rf := server.ReadAsync(buf)
	pc := &pollCounter[task.Result[int]]{f: &rf}
	h := runtime.Spawn(rt, task.Future[task.Result[int]](pc))
	waitUntil(t, func() bool { return pc.polls.Load() >= 1 })
	require.False(t, h.IsFinished(), "the read completed with nothing sent")

	_, err := client.Write([]byte("ping"))
	require.NoError(t, err)
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, "ping", string(buf[:res.Value]))
	require.GreaterOrEqual(t, pc.polls.Load(), int32(2), "the task was polled once pending and again when woken")
}

func TestReadFullAsyncReportsUnexpectedEOF(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer server.Close()
	_, err := client.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, client.Close())

	buf := make([]byte, 8)
	rf := server.ReadFullAsync(buf)
	res, err := runtime.BlockOn(rt, task.Future[task.Result[int]](&rf))
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, io.ErrUnexpectedEOF)
	require.Equal(t, 3, res.Value)
}

func TestCloseEndsAPendingReadWithErrClosed(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()

	rf := server.ReadAsync(make([]byte, 8))
	pc := &pollCounter[task.Result[int]]{f: &rf}
	h := runtime.Spawn(rt, task.Future[task.Result[int]](pc))
	waitUntil(t, func() bool { return pc.polls.Load() >= 1 })
	require.NoError(t, server.Close())
	res, err := h.Wait()
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, stdnet.ErrClosed)
	require.ErrorIs(t, server.Close(), stdnet.ErrClosed, "a second Close")
}

func TestReadDeadlineInATaskFiresOnThePausedClock(t *testing.T) {
	// One worker, so one timer wheel: the probe below fires from the same
	// wheel as the deadline.
	rt := newRuntime(t, runtime.WithPausedClock(), runtime.WithWorkers(1))
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()

	require.NoError(t, server.SetReadDeadline(rt.Now().Add(5*time.Second)))
	rf := server.ReadAsync(make([]byte, 8))
	pc := &pollCounter[task.Result[int]]{f: &rf}
	h := runtime.Spawn(rt, task.Future[task.Result[int]](pc))
	waitUntil(t, func() bool { return pc.polls.Load() >= 1 })

	// A probe due at 4 s: once it has fired, the wheel has been through
	// 4 s, and a deadline firing early would have fired too.
	probe := runtime.Spawn(rt, runtime.Sleep(4*time.Second))
	waitUntil(t, func() bool { return rt.Metrics().Total().Timers >= 2 })
	require.NoError(t, rt.Advance(4*time.Second))
	_, err := probe.Wait()
	require.NoError(t, err)
	require.False(t, h.IsFinished(), "the read timed out a second early")

	require.NoError(t, rt.Advance(time.Second))
	res, err := h.Wait()
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, os.ErrDeadlineExceeded)
	var ne stdnet.Error
	require.ErrorAs(t, res.Err, &ne)
	require.True(t, ne.Timeout())
}

func TestIdleTimeoutEndsAQuietConnectionButNotABusyOne(t *testing.T) {
	rt := newRuntime(t, runtime.WithPausedClock())
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	server.SetIdleTimeout(10 * time.Second)

	buf := make([]byte, 8)
	reads := make(chan int, 16)
	h := runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := server.PollRead(cx, buf)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			reads <- res.Value
		}
	})))
	// Traffic every 6 s keeps it alive past 10 s.
	for range 3 {
		require.NoError(t, rt.Advance(6*time.Second))
		_, err := client.Write([]byte("x"))
		require.NoError(t, err)
		require.Equal(t, 1, <-reads)
	}
	require.False(t, h.IsFinished())
	// Then 10 s of silence ends it.
	require.NoError(t, rt.Advance(10*time.Second))
	err, jerr := h.Wait()
	require.NoError(t, jerr)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestWriteAsyncCompletesOnlyWhenTheKernelHasTheBytes(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()

	const total = 32 << 20
	payload := make([]byte, total)
	wf := server.WriteAsync(payload)
	h := runtime.Spawn(rt, task.Future[task.Result[int]](&wf))

	// The peer reads slowly. When the write completes, everything but
	// what the two kernel buffers hold must have been read: the bytes
	// waited in the writer's own slice, not in a buffer of metal's.
	var read atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			read.Add(int64(n))
			if err != nil || read.Load() == total {
				return
			}
		}
	}()
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, total, res.Value)
	atDone := read.Load()
	inKernel := sockBuf(t, server, syscall.SO_SNDBUF) + sockBuf(t, client, syscall.SO_RCVBUF)
	require.GreaterOrEqual(t, atDone, int64(total-inKernel),
		"the write completed with %d bytes unread but the kernel holds at most %d", total-atDone, inKernel)
	<-done
	require.EqualValues(t, total, read.Load())
}

// sockBuf reads a socket buffer size option of c.
func sockBuf(t *testing.T, c *metalnet.Conn, opt int) int {
	t.Helper()
	f, err := stdConnOf(t, c)
	require.NoError(t, err)
	defer f.Close()
	rc, err := f.SyscallConn()
	require.NoError(t, err)
	var v int
	var serr error
	require.NoError(t, rc.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) }))
	require.NoError(t, serr)
	return v
}

// stdConnOf opens the socket under c as a Go connection over a duplicate
// descriptor, for reading options.
func stdConnOf(t *testing.T, c *metalnet.Conn) (*stdnet.TCPConn, error) {
	t.Helper()
	fd, err := syscall.Dup(metalnet.FdOf(c))
	if err != nil {
		return nil, err
	}
	fc, err := stdnet.FileConn(os.NewFile(uintptr(fd), "dup"))
	if err != nil {
		return nil, err
	}
	return fc.(*stdnet.TCPConn), nil
}

func TestDialAsyncConnectsAndReportsRefusal(t *testing.T) {
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	loop := serveEcho(rt, l)
	defer func() {
		l.Close()
		loop.Wait()
	}()

	d := &metalnet.Dialer{Runtime: rt, Timeout: 5 * time.Second}
	res, err := runtime.BlockOn(rt, task.Future[task.Result[*metalnet.Conn]](d.DialAsync("tcp", l.Addr().String())))
	require.NoError(t, err)
	require.NoError(t, res.Err)
	c := res.Value
	defer c.Close()
	require.Equal(t, l.Addr().String(), c.RemoteAddr().String())
	_, err = c.Write([]byte("hi"))
	require.NoError(t, err)
	buf := make([]byte, 2)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "hi", string(buf))

	// A port nobody listens on: take one and close it.
	probe, err := stdnet.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := probe.Addr().String()
	probe.Close()
	res, err = runtime.BlockOn(rt, task.Future[task.Result[*metalnet.Conn]](d.DialAsync("tcp", closed)))
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, syscall.ECONNREFUSED)
	_, err = metalnet.DialRuntime(rt, "tcp", closed)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestShutdownEndsTasksWaitingOnSockets(t *testing.T) {
	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(t, err)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	rf := server.ReadAsync(make([]byte, 8))
	pc := &pollCounter[task.Result[int]]{f: &rf}
	h := runtime.Spawn(rt, task.Future[task.Result[int]](pc))
	waitUntil(t, func() bool { return pc.polls.Load() >= 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))
	// Either the task was cancelled (an error in its handle) or the
	// driver's shutdown woke it first and its read failed.
	res, err := h.Wait()
	if err == nil {
		require.ErrorIs(t, res.Err, runtime.ErrShutdown)
	}
	// The facade side reports the runtime is gone rather than blocking.
	_, err = server.Read(make([]byte, 8))
	require.ErrorIs(t, err, runtime.ErrShutdown)
}

func TestReusePortLetsTwoListenersShareAnAddress(t *testing.T) {
	rt := newRuntime(t)
	lc := metalnet.ListenConfig{Runtime: rt, ReusePort: true}
	a, err := lc.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := lc.Listen("tcp", a.Addr().String())
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, a.Addr().String(), b.Addr().String())

	_, err = metalnet.ListenRuntime(rt, "tcp", a.Addr().String())
	require.ErrorIs(t, err, syscall.EADDRINUSE, "without SO_REUSEPORT the address is taken")
}

func TestAdoptedStdConnAndListenerWork(t *testing.T) {
	rt := newRuntime(t)
	sl, err := stdnet.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l, err := metalnet.NewListener(rt, sl)
	require.NoError(t, err)
	defer l.Close()
	loop := serveEcho(rt, l)
	defer func() {
		l.Close()
		loop.Wait()
	}()

	sc, err := stdnet.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	c, err := metalnet.NewConn(rt, sc)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("adopted"))
	require.NoError(t, err)
	buf := make([]byte, 7)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "adopted", string(buf))
}

func TestSocketHotPathsInATaskDoNotAllocate(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	out, in := []byte("0123456789abcdef"), make([]byte, 16)
	cx := task.NewContext(task.NewWaker(nopWaker{}))
	allocs := testing.AllocsPerRun(1000, func() {
		cx.Reset()
		if res, ok := client.PollWrite(cx, out); !ok || res.Err != nil || res.Value != len(out) {
			t.Fatalf("write: %v %v", res, ok)
		}
		for got := 0; got < len(in); {
			cx.Reset()
			res, ok := server.PollRead(cx, in[got:])
			if !ok {
				continue // bytes still in flight on loopback
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			got += res.Value
		}
	})
	require.Zero(t, allocs)
}

type nopWaker struct{}

func (nopWaker) Wake() {}

// waitUntil waits for cond, which another goroutine makes true.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCopyAsyncProxiesBetweenTwoConnections(t *testing.T) {
	rt := newRuntime(t)
	// upstream: an echo server on tasks; the proxy copies both ways.
	up, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	loop := serveEcho(rt, up)
	defer func() {
		up.Close()
		loop.Wait()
	}()
	front, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer front.Close()
	proxyDone := make(chan [2]task.Result[int64], 1)
	go func() {
		in, err := front.AcceptConn()
		if err != nil {
			proxyDone <- [2]task.Result[int64]{{Err: err}, {Err: err}}
			return
		}
		out, err := metalnet.DialRuntime(rt, "tcp", up.Addr().String())
		if err != nil {
			proxyDone <- [2]task.Result[int64]{{Err: err}, {Err: err}}
			return
		}
		toUp := runtime.Spawn(rt, task.Future[task.Result[int64]](task.Then(
			task.Future[task.Result[int64]](metalnet.CopyAsync(out, in)),
			func(r task.Result[int64]) task.Future[task.Result[int64]] {
				out.CloseWrite() // the client is done: tell upstream
				return task.Ready(r)
			})))
		toClient := runtime.Spawn(rt, task.Future[task.Result[int64]](metalnet.CopyAsync(in, out)))
		a, _ := toUp.Wait()
		b, _ := toClient.Wait()
		in.Close()
		out.Close()
		proxyDone <- [2]task.Result[int64]{a, b}
	}()

	c, err := stdnet.Dial("tcp", front.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	go func() {
		c.Write(payload)
		c.(*stdnet.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got), "the proxied echo differs")
	res := <-proxyDone
	require.NoError(t, res[0].Err)
	require.NoError(t, res[1].Err)
	require.EqualValues(t, len(payload), res[0].Value)
	require.EqualValues(t, len(payload), res[1].Value)
}

func TestWriteDeadlineInATaskEndsAStuckWrite(t *testing.T) {
	rt := newRuntime(t, runtime.WithPausedClock())
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	// The client never reads: the write fills both kernel buffers and
	// waits, until its deadline.
	require.NoError(t, server.SetWriteDeadline(rt.Now().Add(2*time.Second)))
	wf := server.WriteAsync(make([]byte, 64<<20))
	pc := &pollCounter[task.Result[int]]{f: &wf}
	h := runtime.Spawn(rt, task.Future[task.Result[int]](pc))
	waitUntil(t, func() bool { return pc.polls.Load() >= 1 })
	require.NoError(t, rt.Advance(2*time.Second))
	res, err := h.Wait()
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, os.ErrDeadlineExceeded)
	require.Positive(t, res.Value, "some bytes went before the buffers filled")
	require.Less(t, res.Value, 64<<20)
}

func TestWritevAsyncWritesEveryBufferInOrder(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	var bufs [][]byte
	var want []byte
	// More buffers than one writev takes (IOV_MAX is 1024).
	for i := range 1500 {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, 100+i*7)
		bufs = append(bufs, b, nil) // empty buffers are skipped
		want = append(want, b...)
	}
	wf := server.WritevAsync(bufs)
	h := runtime.Spawn(rt, task.Future[task.Result[int]](&wf))
	got := make([]byte, len(want))
	_, err := io.ReadFull(client, got)
	require.NoError(t, err)
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, len(want), res.Value)
	require.True(t, bytes.Equal(want, got))
}

func TestCopyBufferAsyncEchoesThroughItsOwnSmallBuffer(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	// The server echoes with a copy from the connection to itself, through
	// a buffer of 7 bytes.
	h := runtime.Spawn(rt, task.Future[task.Result[int64]](metalnet.CopyBufferAsync(server, server, make([]byte, 7))))
	payload := make([]byte, 100_000)
	rand.Read(payload)
	go func() {
		client.Write(payload)
		client.CloseWrite()
	}()
	got, err := io.ReadAll(io.LimitReader(client, int64(len(payload))))
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got))
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.EqualValues(t, len(payload), res.Value)
	require.NoError(t, server.Close())
}
