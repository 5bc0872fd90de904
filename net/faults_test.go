//go:build unix

package net_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"os/signal"
	goruntime "runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// Faults a peer inflicts on a Conn over real loopback sockets: resets,
// half-closes, a peer gone, a port closed, a peer that never reads. Each
// is checked from a task (the futures, run with BlockOn) and from a
// goroutine (the net.Conn methods) where both apply.

// connIO is one way of reading and writing a Conn.
type connIO struct {
	name  string
	read  func(rt *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error)
	write func(rt *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error)
}

var connIOs = []connIO{
	{
		name: "task",
		read: func(rt *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error) {
			rf := c.ReadAsync(p)
			res, err := runtime.BlockOn(rt, task.Future[task.Result[int]](&rf))
			if err != nil {
				return 0, err
			}
			return res.Value, res.Err
		},
		write: func(rt *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error) {
			wf := c.WriteAsync(p)
			res, err := runtime.BlockOn(rt, task.Future[task.Result[int]](&wf))
			if err != nil {
				return 0, err
			}
			return res.Value, res.Err
		},
	},
	{
		name:  "goroutine",
		read:  func(_ *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error) { return c.Read(p) },
		write: func(_ *runtime.Runtime, c *metalnet.Conn, p []byte) (int, error) { return c.Write(p) },
	},
}

// eachConnIO runs fn as a subtest for each way of doing I/O, with a
// runtime of its own.
func eachConnIO(t *testing.T, fn func(t *testing.T, rt *runtime.Runtime, io connIO)) {
	for _, cio := range connIOs {
		t.Run(cio.name, func(t *testing.T) { fn(t, newRuntime(t), cio) })
	}
}

// peerPair returns a metal Conn accepted on rt and the Go connection at
// the other end, which the test uses as the misbehaving peer. Both close
// when the test ends.
func peerPair(t *testing.T, rt *runtime.Runtime) (*metalnet.Conn, *stdnet.TCPConn) {
	t.Helper()
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	ch := acceptInBackground(l)
	peer, err := stdnet.DialTCP("tcp", nil, l.Addr().(*stdnet.TCPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { peer.Close() })
	a := <-ch
	require.NoError(t, a.err)
	t.Cleanup(func() { a.c.Close() })
	require.NoError(t, peer.SetDeadline(time.Now().Add(testutil.EventTimeout)))
	return a.c, peer
}

// requireBroken asserts that err is the error of a write to a connection
// the peer reset or left: ECONNRESET or EPIPE, through errors.Is.
func requireBroken(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE),
		"want ECONNRESET or EPIPE, got %v", err)
}

// readToEOF reads c until an error and returns what it read and the error.
func readToEOF(rt *runtime.Runtime, cio connIO, c *metalnet.Conn) ([]byte, error) {
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := cio.read(rt, c, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// A peer that resets the connection (SO_LINGER 0, then close) while a
// large write waits for room makes the write fail with ECONNRESET or
// EPIPE and the count written so far; every later write fails the same
// way, and the process carries on.
func TestConnWriteFailsWhenThePeerResetsMidWrite(t *testing.T) {
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		require.NoError(t, peer.SetLinger(0))
		const total = 64 << 20 // far more than two kernel buffers hold
		type written struct {
			n   int
			err error
		}
		done := make(chan written, 1)
		go func() {
			n, err := cio.write(rt, server, make([]byte, total))
			done <- written{n, err}
		}()
		// The write is under way once bytes arrive; it cannot be over.
		_, err := io.ReadFull(peer, make([]byte, 64<<10))
		require.NoError(t, err)
		require.NoError(t, peer.Close())
		select {
		case w := <-done:
			require.Less(t, w.n, total)
			requireBroken(t, w.err)
		case <-time.After(testutil.EventTimeout):
			t.Fatal("the write is still waiting after the reset")
		}
		for range 100 {
			n, err := cio.write(rt, server, make([]byte, 1024))
			require.Zero(t, n)
			requireBroken(t, err)
		}
	})
}

// A peer that has closed (FIN, then RST for the bytes that follow) makes
// writes fail with EPIPE or ECONNRESET: the first may still be taken by the
// kernel, the ones after the reset arrives are not.
func TestConnWriteAfterThePeerClosedFails(t *testing.T) {
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		require.NoError(t, peer.Close())
		// The peer's FIN arrives first.
		n, err := cio.read(rt, server, make([]byte, 8))
		require.Zero(t, n)
		require.ErrorIs(t, err, io.EOF)
		deadline := time.Now().Add(testutil.EventTimeout)
		for {
			_, err := cio.write(rt, server, []byte("anyone there?"))
			if err != nil {
				requireBroken(t, err)
				break
			}
			require.True(t, time.Now().Before(deadline), "writes to a closed peer keep succeeding")
		}
		for range 10 {
			_, err := cio.write(rt, server, []byte("still?"))
			requireBroken(t, err)
		}
	})
}

// Writing to a peer that has gone raises no SIGPIPE: metal asks the kernel
// not to (send with MSG_NOSIGNAL on Linux, SO_NOSIGPIPE on macOS), so that
// a program handling SIGPIPE itself, or a C program hosting Go (c-archive,
// c-shared), is not signalled once per failed write. (Go's runtime ignores
// SIGPIPE for descriptors other than 1 and 2 in an ordinary Go program,
// which is why the other tests survive either way, and what the BSDs rely
// on.)
func TestConnWriteToAGonePeerRaisesNoSIGPIPE(t *testing.T) {
	if goruntime.GOOS != "linux" && goruntime.GOOS != "darwin" {
		t.Skipf("%s writes with write(2): a failed write raises SIGPIPE, which Go ignores", goruntime.GOOS)
	}
	sigs := make(chan os.Signal, 256)
	signal.Notify(sigs, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		require.NoError(t, peer.SetLinger(0))
		require.NoError(t, peer.Close())
		deadline := time.Now().Add(testutil.EventTimeout)
		for failed := 0; failed < 20; {
			require.True(t, time.Now().Before(deadline), "writes to a reset peer keep succeeding")
			if _, err := cio.write(rt, server, make([]byte, 1024)); err != nil {
				requireBroken(t, err)
				failed++
			}
		}
	})
	// A SIGPIPE is raised by the failing write itself; Go hands it to the
	// channel right after. Nothing else signals when none comes.
	// Go merges signals that arrive before it delivers the first: count
	// at least one.
	select {
	case sig := <-sigs:
		t.Fatalf("%v raised by 40 failed writes", sig)
	case <-time.After(testutil.QuietPeriod):
	}
}

// The peer shuts down its writing half: reads return what it sent, then
// io.EOF, again and again, and writing still works, all the way to the
// peer.
func TestConnReadsEOFAfterThePeerClosesWritingAndCanStillWrite(t *testing.T) {
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		_, err := peer.Write([]byte("request"))
		require.NoError(t, err)
		require.NoError(t, peer.CloseWrite())

		got, err := readToEOF(rt, cio, server)
		require.Equal(t, io.EOF, err)
		require.Equal(t, "request", string(got))
		n, err := cio.read(rt, server, make([]byte, 8))
		require.Zero(t, n)
		require.Equal(t, io.EOF, err, "end of stream is not sticky")

		_, err = cio.write(rt, server, []byte("response"))
		require.NoError(t, err)
		require.NoError(t, server.CloseWrite())
		all, err := io.ReadAll(peer)
		require.NoError(t, err)
		require.Equal(t, "response", string(all))
	})
}

// We shut down our writing half: the peer reads what we sent, then end of
// stream; our own writes fail with EPIPE; and the peer can still send to
// us until it closes.
func TestConnCloseWriteEndsThePeersReadsAndKeepsOursOpen(t *testing.T) {
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		_, err := cio.write(rt, server, []byte("hello"))
		require.NoError(t, err)
		require.NoError(t, server.CloseWrite())
		all, err := io.ReadAll(peer)
		require.NoError(t, err)
		require.Equal(t, "hello", string(all))
		_, err = cio.write(rt, server, []byte("more"))
		require.ErrorIs(t, err, syscall.EPIPE)

		_, err = peer.Write([]byte("still here"))
		require.NoError(t, err)
		require.NoError(t, peer.Close())
		got, err := readToEOF(rt, cio, server)
		require.Equal(t, io.EOF, err)
		require.Equal(t, "still here", string(got))
	})
}

// We shut down our reading half: reads return io.EOF at once, and writes
// still reach the peer. (The peer shutting down its reading half is not
// observable from here: Linux keeps taking the bytes.)
func TestConnCloseReadEndsOurReadsAndKeepsWriting(t *testing.T) {
	eachConnIO(t, func(t *testing.T, rt *runtime.Runtime, cio connIO) {
		server, peer := peerPair(t, rt)
		require.NoError(t, server.CloseRead())
		n, err := cio.read(rt, server, make([]byte, 8))
		require.Zero(t, n)
		require.Equal(t, io.EOF, err)

		_, err = cio.write(rt, server, []byte("after"))
		require.NoError(t, err)
		require.NoError(t, server.CloseWrite())
		all, err := io.ReadAll(peer)
		require.NoError(t, err)
		require.Equal(t, "after", string(all))
	})
}

// Dialing a Unix socket nobody listens on reports ECONNREFUSED from
// DialRuntime, Dialer.DialAsync and Dial (TCP is in async_test.go).
func TestDialReportsRefusalOverUnix(t *testing.T) {
	rt := newRuntime(t)
	path := t.TempDir() + "/gone.sock"
	gl, err := stdnet.ListenUnix("unix", &stdnet.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	gl.SetUnlinkOnClose(false) // the file stays, with nobody behind it
	require.NoError(t, gl.Close())

	_, err = metalnet.DialRuntime(rt, "unix", path)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	d := &metalnet.Dialer{Runtime: rt, Timeout: testutil.EventTimeout}
	res, err := runtime.BlockOn(rt, task.Future[task.Result[*metalnet.Conn]](d.DialAsync("unix", path)))
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, syscall.ECONNREFUSED)
	_, err = metalnet.Dial("unix", path)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}

// A server answers each one-byte request with respSize bytes through a
// BufWriter per connection. One client sends many requests and reads
// nothing: its connection's buffer fills to the high watermark and stays
// there, no further, while the other clients keep getting their answers.
func TestSlowReaderIsHeldAtTheWatermarkWhileOthersAreServed(t *testing.T) {
	const (
		low, high  = 16 << 10, 64 << 10
		respSize   = 64 << 10
		slowAsks   = 1000 // 64 MiB of answers: far more than the kernel holds
		goodConns  = 4
		goodRounds = 50
	)
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()

	slow, err := stdnet.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer slow.Close()
	sc, err := l.AcceptConn()
	require.NoError(t, err)
	slowSrv := &answerTask{c: sc, w: metalnet.NewBufWriter(sc, low, high), size: respSize}
	slowDone := runtime.Spawn(rt, task.Future[error](slowSrv))
	_, err = slow.Write(bytes.Repeat([]byte{'s'}, slowAsks))
	require.NoError(t, err)
	waitUntil(t, func() bool { return slowSrv.most.Load() >= high })

	// The others, each on a task of its own.
	loop := runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := l.PollAccept(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			c := res.Value
			at := &answerTask{c: c, w: metalnet.NewBufWriter(c, low, high), size: respSize}
			runtime.SpawnFrom(rt, cx, task.Future[error](at)).Detach()
		}
	})))
	var wg sync.WaitGroup
	errs := make(chan error, goodConns)
	start := time.Now()
	for i := range goodConns {
		wg.Go(func() {
			errs <- askAndCheck(l.Addr().String(), byte('a'+i), goodRounds, respSize)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d clients x %d answers of %d KiB in %v beside a reader that never reads",
		goodConns, goodRounds, respSize>>10, time.Since(start).Round(time.Millisecond))

	require.Equal(t, int64(high), slowSrv.most.Load(), "the slow reader's buffer passed the high watermark")
	require.False(t, slowDone.IsFinished(), "the slow reader's task ended")
	// The slow reader leaves without reading: its server task ends with
	// the reset and nothing held.
	require.NoError(t, slow.(*stdnet.TCPConn).SetLinger(0))
	require.NoError(t, slow.Close())
	res, err := slowDone.Wait()
	require.NoError(t, err)
	requireBroken(t, res)
	require.NoError(t, l.Close())
	_, err = loop.Wait()
	require.NoError(t, err)
}

// answerTask serves one connection: for each byte it reads, it writes
// size copies of that byte through w. It records the most w ever held.
type answerTask struct {
	c       *metalnet.Conn
	w       *metalnet.BufWriter
	size    int
	asks    [64]byte
	i, n    int        // asks[i:n] are still to answer
	chunk   [4096]byte // the answer being written, a chunk at a time
	left    int        // bytes of it still to hand to w
	most    atomic.Int64
	flushed bool
}

func (a *answerTask) Poll(cx *task.Context) (error, bool) {
	for {
		for a.left > 0 {
			res, ok := a.w.PollWrite(cx, a.chunk[:min(a.left, len(a.chunk))])
			if b := int64(a.w.Buffered()); b > a.most.Load() {
				a.most.Store(b)
			}
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				a.c.Close()
				return res.Err, true
			}
			a.left -= res.Value
			a.flushed = false
		}
		if a.i < a.n {
			for j := range a.chunk {
				a.chunk[j] = a.asks[a.i]
			}
			a.i++
			a.left = a.size
			continue
		}
		if !a.flushed {
			err, ok := a.w.PollFlush(cx)
			if !ok {
				return nil, false
			}
			if err != nil {
				a.c.Close()
				return err, true
			}
			a.flushed = true
		}
		res, ok := a.c.PollRead(cx, a.asks[:])
		if !ok {
			return nil, false
		}
		if res.Err != nil {
			a.c.Close()
			if res.Err == io.EOF {
				return nil, true
			}
			return res.Err, true
		}
		a.i, a.n = 0, res.Value
	}
}

// askAndCheck connects to addr and asks rounds times, one request at a
// time, checking each answer.
func askAndCheck(addr string, ask byte, rounds, size int) error {
	c, err := stdnet.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	want := bytes.Repeat([]byte{ask}, size)
	got := make([]byte, size)
	for r := range rounds {
		if _, err := c.Write([]byte{ask}); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, got); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("round %d: a wrong answer", r)
		}
	}
	return nil
}

// percentile returns the p-th percentile (0 < p <= 100) of ds, which it
// sorts.
func percentile(ds []time.Duration, p float64) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
