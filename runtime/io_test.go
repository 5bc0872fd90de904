//go:build unix

package runtime_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	mnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// reader is a task that reads r until EOF through the runtime's driver,
// parking whenever the source would block.
type reader struct {
	io   *runtime.IO
	r    io.Reader
	buf  [512]byte
	got  bytes.Buffer
	wait int // polls that had to wait for the driver
	// parked, if set, is closed the first time a poll has to wait.
	parked chan struct{}
}

func (rd *reader) Poll(cx *task.Context) ([]byte, bool) {
	for {
		ready, ok := rd.io.PollReady(cx, poller.Readable)
		if !ok {
			if rd.wait++; rd.wait == 1 && rd.parked != nil {
				close(rd.parked)
			}
			return nil, false
		}
		n, err := rd.r.Read(rd.buf[:])
		switch {
		case errors.Is(err, poller.ErrWouldBlock):
			rd.io.ClearReady(ready)
		case n == 0 || err != nil:
			return rd.got.Bytes(), true
		default:
			rd.got.Write(rd.buf[:n])
		}
	}
}

func TestTaskReadsAPipeWokenByTheDriver(t *testing.T) {
	rt := newRuntime(t)
	tx, rx, err := mnet.Pipe()
	require.NoError(t, err)
	defer rx.Close()
	io, err := rt.Register(rx, poller.Readable)
	require.NoError(t, err)
	defer io.Close()
	rd := &reader{io: io, r: rx, parked: make(chan struct{})}
	h := runtime.Spawn(rt, task.Future[[]byte](rd))
	// Write only once the task waits on the empty pipe, so that what it
	// reads must come through the driver (written at once, all 50 chunks
	// could be there by its first poll).
	select {
	case <-rd.parked:
	case <-time.After(10 * time.Second):
		t.Fatal("the task never polled the empty pipe")
	}

	var want bytes.Buffer
	for i := 0; i < 50; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 100+i)
		want.Write(chunk)
		_, err := tx.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Close())
	// Only the driver's readiness event can poll the parked task again: a
	// lost wake fails here, after probeTimeout, instead of hanging.
	got, err := waitBounded(t, h)
	require.NoError(t, err)
	require.Equal(t, want.Bytes(), got)
	// Workers publish their counters when they park: wait for that.
	waitFor(t, rt, func(m runtime.Metrics) bool { return m.Total().IOEvents > 0 })
}

// echoOnce is a task that accepts one connection on a raw listener and
// echoes it until EOF, all through the runtime's driver.
type echoOnce struct {
	rt   *runtime.Runtime
	l    *mnet.TCPListener
	lio  *runtime.IO
	c    *mnet.TCPStream
	cio  *runtime.IO
	buf  [1024]byte
	pend []byte
	n    int
}

func (e *echoOnce) Poll(cx *task.Context) (int, bool) {
	for e.c == nil {
		r, ok := e.lio.PollReady(cx, poller.Readable)
		if !ok {
			return 0, false
		}
		c, _, err := e.l.Accept()
		if errors.Is(err, poller.ErrWouldBlock) {
			e.lio.ClearReady(r)
			continue
		}
		if err != nil {
			panic(err)
		}
		e.c = c
		if e.cio, err = e.rt.Register(c, poller.Readable|poller.Writable); err != nil {
			panic(err)
		}
	}
	for {
		for len(e.pend) > 0 {
			r, ok := e.cio.PollReady(cx, poller.Writable)
			if !ok {
				return 0, false
			}
			n, err := e.c.Write(e.pend)
			if errors.Is(err, poller.ErrWouldBlock) {
				e.cio.ClearReady(r)
				continue
			}
			if err != nil {
				panic(err)
			}
			e.pend = e.pend[n:]
		}
		r, ok := e.cio.PollReady(cx, poller.Readable)
		if !ok {
			return 0, false
		}
		n, err := e.c.Read(e.buf[:])
		switch {
		case errors.Is(err, poller.ErrWouldBlock):
			e.cio.ClearReady(r)
		case err != nil || n == 0:
			e.cio.Close()
			e.c.Close()
			return e.n, true
		default:
			e.n += n
			e.pend = e.buf[:n]
		}
	}
}

func TestTaskEchoesARawTCPConnection(t *testing.T) {
	rt := newRuntime(t)
	l, err := mnet.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	defer l.Close()
	lio, err := rt.Register(l, poller.Readable)
	require.NoError(t, err)
	defer lio.Close()
	addr, err := l.LocalAddr()
	require.NoError(t, err)
	h := runtime.Spawn(rt, task.Future[int](&echoOnce{rt: rt, l: l, lio: lio}))

	c, err := stdDial(addr)
	require.NoError(t, err)
	defer c.Close()
	msg := bytes.Repeat([]byte("metal "), 20000) // 120 KB: more than one socket buffer
	go func() {
		_, _ = c.Write(msg)
		_ = c.CloseWrite()
	}()
	echoed, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, msg, echoed)
	n, err := h.Wait()
	require.NoError(t, err)
	require.Equal(t, len(msg), n)
}

func TestIOCloseWakesTheWaiterAndReportsClosed(t *testing.T) {
	rt := newRuntime(t)
	tx, rx, err := mnet.Pipe()
	require.NoError(t, err)
	defer tx.Close() // left to a finalizer, it closes in a later test's fd count
	defer rx.Close()
	io, err := rt.Register(rx, poller.Readable)
	require.NoError(t, err)
	polled := make(chan struct{})
	h := runtime.Spawn(rt, task.Future[bool](task.FutureFunc[bool](func(cx *task.Context) (bool, bool) {
		r, ok := io.PollReady(cx, poller.Readable)
		if !ok {
			select {
			case <-polled:
			default:
				close(polled)
			}
			return false, false
		}
		return r.IsClosed(), true
	})))
	<-polled
	require.NoError(t, io.Close())
	closed, err := h.Wait()
	require.NoError(t, err)
	require.True(t, closed)
	require.ErrorIs(t, io.Close(), runtime.ErrIOClosed)
}

func TestRegisterAfterShutdownFails(t *testing.T) {
	rt, err := runtime.New(runtime.WithWorkers(1))
	require.NoError(t, err)
	require.NoError(t, rt.Shutdown(t.Context()))
	tx, rx, err := mnet.Pipe()
	require.NoError(t, err)
	defer tx.Close() // left to a finalizer, it closes in a later test's fd count
	defer rx.Close()
	_, err = rt.Register(rx, poller.Readable)
	require.ErrorIs(t, err, runtime.ErrShutdown)
}
