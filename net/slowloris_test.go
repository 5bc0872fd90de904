//go:build linux

package net_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/netip"
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

// A line-echo server with an idle timeout per connection faces thousands
// of slow clients, half of them silent and half trickling a byte now and
// then without ever finishing a line, while one well-behaved client makes
// round trips. The slow clients are raw non-blocking sockets driven by a
// few goroutines (a goroutine each would be thousands, past the race
// detector's limit), so their cost to the test is a descriptor each.

const (
	// slowlorisClients is how many slow clients there are, race detector
	// or not: they cost no goroutines.
	slowlorisClients = 5000
	slowIdleTimeout  = 2 * time.Second
	// tricklePeriod is how often a trickling client sends a byte: well
	// inside the idle timeout, so that trickling alone keeps it connected.
	tricklePeriod = 700 * time.Millisecond
	// dialBatch is how many slow clients connect before the test waits for
	// the server to accept them: fewer than the listen backlog holds, so
	// no handshake is dropped and retried a second later.
	dialBatch = 500
	// goodRounds round trips, one every goodPace: the good client's run
	// spans several trickle rounds and the silent clients' timeouts.
	goodRounds = 200
	goodPace   = 15 * time.Millisecond
)

// lineServer counts a slowloris server's connections.
type lineServer struct {
	accepted atomic.Int64 // connections accepted
	live     atomic.Int64 // connections not yet closed
	timedOut atomic.Int64 // connections closed by their idle timeout
	otherEnd atomic.Int64 // connections closed for another reason than EOF
}

// lineTask echoes the lines of one connection, each once its newline
// arrives.
type lineTask struct {
	c       *metalnet.Conn
	s       *lineServer
	buf     [256]byte
	n       int // buf[:n] is read and not yet echoed
	w       metalnet.WriteFuture
	writing int // the length of the line being echoed; 0: reading
}

var errLineTooLong = errors.New("line too long")

func (l *lineTask) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if l.writing > 0 {
			res, ok := l.w.Poll(cx)
			if !ok {
				return struct{}{}, false
			}
			if res.Err != nil {
				return l.end(res.Err)
			}
			l.n = copy(l.buf[:], l.buf[l.writing:l.n])
			l.writing = 0
		}
		if i := bytes.IndexByte(l.buf[:l.n], '\n'); i >= 0 {
			l.writing = i + 1
			l.w = l.c.WriteAsync(l.buf[:l.writing])
			continue
		}
		if l.n == len(l.buf) {
			return l.end(errLineTooLong)
		}
		res, ok := l.c.PollRead(cx, l.buf[l.n:])
		if !ok {
			return struct{}{}, false
		}
		l.n += res.Value
		if res.Err != nil {
			return l.end(res.Err)
		}
	}
}

func (l *lineTask) end(err error) (struct{}, bool) {
	l.c.Close()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		l.s.timedOut.Add(1)
	case err != io.EOF:
		l.s.otherEnd.Add(1)
	}
	l.s.live.Add(-1)
	return struct{}{}, true
}

// serveLines runs the accept loop of a lineServer on l.
func serveLines(rt *runtime.Runtime, l *metalnet.Listener, s *lineServer) *task.JoinHandle[error] {
	return runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := l.PollAccept(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			res.Value.SetIdleTimeout(slowIdleTimeout)
			s.accepted.Add(1)
			s.live.Add(1)
			runtime.SpawnFrom(rt, cx, task.Future[struct{}](&lineTask{c: res.Value, s: s})).Detach()
		}
	})))
}

// dialSlowClients connects n raw non-blocking sockets to addr, in batches
// the server has accepted before the next starts. They close when the
// test ends.
func dialSlowClients(t *testing.T, addr netip.AddrPort, n int, s *lineServer) []int {
	t.Helper()
	sa := &syscall.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}
	fds := make([]int, 0, n)
	t.Cleanup(func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	})
	base := s.accepted.Load()
	for len(fds) < n {
		for range min(dialBatch, n-len(fds)) {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			fds = append(fds, fd)
			if err := syscall.Connect(fd, sa); err != nil && err != syscall.EINPROGRESS {
				t.Fatalf("connect: %v", err)
			}
		}
		want := base + int64(len(fds))
		waitUntil(t, func() bool { return s.accepted.Load() >= want })
	}
	return fds
}

// trickle sends one byte to each of fds every tricklePeriod until stop
// closes, from one goroutine per share; it returns once they have all
// stopped, with the number of writes that failed.
func trickle(fds []int, shares int, stop <-chan struct{}) (failed int64) {
	var wg sync.WaitGroup
	var fails atomic.Int64
	per := (len(fds) + shares - 1) / shares
	for i := 0; i < len(fds); i += per {
		share := fds[i:min(i+per, len(fds))]
		wg.Go(func() {
			tick := time.NewTicker(tricklePeriod)
			defer tick.Stop()
			b := []byte{'x'}
			for {
				for _, fd := range share {
					if _, err := syscall.Write(fd, b); err != nil {
						fails.Add(1)
					}
				}
				select {
				case <-stop:
					return
				case <-tick.C: // the pace of the trickle
				}
			}
		})
	}
	wg.Wait()
	return fails.Load()
}

// requireAllSeeTheEnd checks that every client socket reads end of stream
// or a reset: the server closed it. A socket that still says would-block
// is looked at again, until a deadline.
func requireAllSeeTheEnd(t *testing.T, fds []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 16)
	left := fds
	for len(left) > 0 {
		var again []int
		for _, fd := range left {
			n, err := syscall.Read(fd, buf)
			switch {
			case err == nil && n == 0, errors.Is(err, syscall.ECONNRESET):
			case errors.Is(err, syscall.EAGAIN):
				again = append(again, fd)
			default:
				t.Fatalf("a slow client read %d bytes, %v: the server sent it something", n, err)
			}
		}
		left = again
		if len(left) > 0 {
			require.True(t, time.Now().Before(deadline), "%d slow clients still connected", len(left))
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestSlowlorisClientsDoNotDelayOthersAndIdleTimeoutsReclaimThem(t *testing.T) {
	// Both ends of every slow connection are in this process.
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if need := uint64(2*slowlorisClients + 1000); lim.Cur < need {
		t.Skipf("RLIMIT_NOFILE is %d; the test needs %d descriptors", lim.Cur, need)
	}
	start := time.Now()
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	s := &lineServer{}
	loop := serveLines(rt, l, s)
	addr := l.Addr().(*stdnet.TCPAddr).AddrPort()

	fds := dialSlowClients(t, addr, slowlorisClients, s)
	silent, tricklers := fds[:len(fds)/2], fds[len(fds)/2:]
	dialed := time.Since(start)
	stop := make(chan struct{})
	trickled := make(chan int64, 1)
	go func() { trickled <- trickle(tricklers, 4, stop) }()

	// The well-behaved client, meanwhile.
	good, err := stdnet.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer good.Close()
	require.NoError(t, good.SetDeadline(time.Now().Add(30*time.Second)))
	liveBefore := s.live.Load()
	rtts := make([]time.Duration, 0, goodRounds)
	line := make([]byte, 0, 32)
	got := make([]byte, 32)
	pace := time.NewTicker(goodPace)
	defer pace.Stop()
	for i := range goodRounds {
		<-pace.C
		line = fmt.Appendf(line[:0], "ping %d\n", i)
		t0 := time.Now()
		_, err := good.Write(line)
		require.NoError(t, err)
		_, err = io.ReadFull(good, got[:len(line)])
		require.NoError(t, err)
		rtts = append(rtts, time.Since(t0))
		require.Equal(t, string(line), string(got[:len(line)]))
	}
	liveAfter := s.live.Load()
	p50, p99, most := percentile(rtts, 50), percentile(rtts, 99), percentile(rtts, 100)
	t.Logf("%d slow clients (dialed in %v); server connections %d at the first round trip, %d after the last",
		len(fds), dialed.Round(time.Millisecond), liveBefore, liveAfter)
	t.Logf("good client: %d round trips, p50 %v, p99 %v, max %v", goodRounds, p50, p99, most)
	require.Less(t, p99, 250*time.Millisecond, "the slow clients delayed the good one")
	require.Less(t, most, time.Second, "the slow clients delayed the good one")

	// The trickle kept the tricklers connected: their bytes reached
	// connections still open.
	close(stop)
	require.Zero(t, <-trickled, "a trickling client found its connection gone")
	stopped := time.Now()
	require.NoError(t, good.Close())

	// Silence from everyone: the idle timeouts reclaim every connection.
	deadline := stopped.Add(slowIdleTimeout + 5*time.Second)
	for s.live.Load() > 0 {
		require.True(t, time.Now().Before(deadline), "%d connections still open %v after the last byte",
			s.live.Load(), time.Since(stopped).Round(time.Millisecond))
		time.Sleep(5 * time.Millisecond)
	}
	reclaim := time.Since(stopped)
	t.Logf("all %d connections closed %v after the trickle stopped (idle timeout %v); total %v",
		s.accepted.Load(), reclaim.Round(time.Millisecond), slowIdleTimeout, time.Since(start).Round(time.Millisecond))
	require.GreaterOrEqual(t, reclaim, slowIdleTimeout-tricklePeriod-200*time.Millisecond, "connections closed before they were idle")
	require.Equal(t, int64(len(fds)), s.timedOut.Load(), "the slow clients' connections ended by idle timeout")
	require.Zero(t, s.otherEnd.Load())
	requireAllSeeTheEnd(t, silent)
	requireAllSeeTheEnd(t, tricklers)

	require.NoError(t, l.Close())
	res, err := loop.Wait()
	require.NoError(t, err)
	require.ErrorIs(t, res, stdnet.ErrClosed)
}
