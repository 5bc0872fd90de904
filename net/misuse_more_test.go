//go:build unix

package net_test

// Misuse of the async sockets (Conn, Listener, PacketConn): use after
// Close, use after the runtime shut down, zero-length buffers, nil and
// closed values handed over for adoption. Each gets an error errors.Is
// recognises (net.ErrClosed, runtime.ErrShutdown, ErrInvalidAddr) or Go's
// documented behaviour, and never a panic, a hang or a leaked descriptor.
// misuse_test.go holds the same for the raw sockets.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// misuseTimeout bounds every call of these tests: a call that should
// return at once and blocks instead fails the test rather than hanging it.
const misuseTimeout = 5 * time.Second

// within runs call and fails the test if it does not return within
// misuseTimeout.
func within[T any](t *testing.T, what string, call func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- call() }()
	select {
	case v := <-done:
		return v
	case <-time.After(misuseTimeout):
		t.Fatalf("%s did not return within %v", what, misuseTimeout)
		panic("unreachable")
	}
}

// ioResult is what a Read or Write returns, as one value.
type ioResult struct {
	n   int
	err error
}

func newIOResult(n int, err error) ioResult { return ioResult{n, err} }

func (r ioResult) get() (int, error) { return r.n, r.err }

// errPending is what the calls below return for a poll that should have
// been ready at once and was not.
var errPending = errors.New("pending, where it should be ready at once")

// pollOnce polls f once, in a task of rt, and returns its value, or
// errPending if it was not ready.
func pollOnce[T any](rt *runtime.Runtime, f func(cx *task.Context) (T, bool)) (T, error) {
	type polled struct {
		v  T
		ok bool
	}
	p, err := runtime.BlockOn(rt, task.Future[polled](task.FutureFunc[polled](func(cx *task.Context) (polled, bool) {
		v, ok := f(cx)
		return polled{v, ok}, true
	})))
	if err == nil && !p.ok {
		err = errPending
	}
	return p.v, err
}

// resultErr is the error of a Result, or err when there is no Result.
func resultErr[T any](res task.Result[T], err error) error {
	if err != nil {
		return err
	}
	return res.Err
}

// awaitIO runs f as a task on rt and waits (within misuseTimeout) for its
// Result.
func awaitIO[T any](t *testing.T, rt *runtime.Runtime, what string, f task.Future[task.Result[T]]) task.Result[T] {
	t.Helper()
	res, err := runtime.BlockOn(rt, runtime.Timeout(misuseTimeout, f))
	require.NoError(t, err)
	require.NoError(t, res.Err, "%s did not complete within %v", what, misuseTimeout)
	return res.Value
}

func TestConnUseAfterCloseReturnsErrClosed(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	require.NoError(t, server.Close())

	buf := make([]byte, 8)
	calls := map[string]func() error{
		"Read":             func() error { _, err := server.Read(buf); return err },
		"Read empty":       func() error { _, err := server.Read(nil); return err },
		"Write":            func() error { _, err := server.Write(buf); return err },
		"Write empty":      func() error { _, err := server.Write(nil); return err },
		"SetDeadline":      func() error { return server.SetDeadline(time.Now()) },
		"SetReadDeadline":  func() error { return server.SetReadDeadline(time.Now()) },
		"SetWriteDeadline": func() error { return server.SetWriteDeadline(time.Now()) },
		"CloseWrite":       server.CloseWrite,
		"CloseRead":        server.CloseRead,
		"SetNoDelay":       func() error { return server.SetNoDelay(true) },
		"Close":            server.Close,
		"PollRead": func() error {
			return resultErr(pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) { return server.PollRead(cx, buf) }))
		},
		"PollWrite": func() error {
			return resultErr(pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) { return server.PollWrite(cx, buf) }))
		},
		"PollWritev": func() error {
			return resultErr(pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) {
				return server.PollWritev(cx, [][]byte{buf, buf})
			}))
		},
		"ReadFullAsync": func() error {
			f := server.ReadFullAsync(buf)
			return resultErr(runtime.BlockOn(rt, task.Future[task.Result[int]](&f)))
		},
	}
	for name, call := range calls {
		err := within(t, name, call)
		require.ErrorIs(t, err, net.ErrClosed, name)
		var oe *net.OpError
		require.ErrorAs(t, err, &oe, "%s: a *net.OpError, as Go's net returns", name)
	}
	server.SetIdleTimeout(time.Second) // no error to return; must not panic
}

func TestListenerAndPacketConnUseAfterCloseReturnErrClosed(t *testing.T) {
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.Close(), net.ErrClosed, "a second Close")
	err = within(t, "Accept", func() error { _, err := l.Accept(); return err })
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, resultErr(pollOnce(rt, l.PollAccept)), net.ErrClosed, "PollAccept")

	pc, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	to := pc.LocalAddr()
	require.NoError(t, pc.Close())
	buf := make([]byte, 8)
	calls := map[string]func() error{
		"Close":       pc.Close,
		"ReadFrom":    func() error { _, _, err := pc.ReadFrom(buf); return err },
		"WriteTo":     func() error { _, err := pc.WriteTo(buf, to); return err },
		"SetDeadline": func() error { return pc.SetDeadline(time.Now()) },
		"PollRecvFrom": func() error {
			d, err := pollOnce(rt, func(cx *task.Context) (metalnet.Datagram, bool) { return pc.PollRecvFrom(cx, buf) })
			if err != nil {
				return err
			}
			return d.Err
		},
		"PollSendTo": func() error {
			return resultErr(pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) {
				return pc.PollSendTo(cx, buf, to.(*net.UDPAddr).AddrPort())
			}))
		},
	}
	for name, call := range calls {
		require.ErrorIs(t, within(t, name, call), net.ErrClosed, name)
	}
}

func TestSocketsOfAShutDownRuntimeReportErrShutdown(t *testing.T) {
	rt, err := runtime.New(runtime.WithWorkers(1))
	require.NoError(t, err)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	pc, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))

	buf := make([]byte, 8)
	cx := task.NewContext(task.Waker{}) // the runtime is gone: poll from here
	calls := map[string]func() error{
		"Write":      func() error { _, err := server.Write(buf); return err },
		"Read empty": func() error { _, err := server.Read(nil); return err },
		"PollRead": func() error {
			res, ok := server.PollRead(cx, buf)
			if !ok {
				return errPending
			}
			return res.Err
		},
		"PollWrite": func() error {
			res, ok := server.PollWrite(cx, buf)
			if !ok {
				return errPending
			}
			return res.Err
		},
		"Accept":   func() error { _, err := l.Accept(); return err },
		"ReadFrom": func() error { _, _, err := pc.ReadFrom(buf); return err },
		"WriteTo":  func() error { _, err := pc.WriteTo(buf, pc.LocalAddr()); return err },
	}
	for name, call := range calls {
		require.ErrorIs(t, within(t, name, call), runtime.ErrShutdown, name)
	}

	// Nothing new can be made on it, and a failed attempt leaks nothing.
	fds := testutil.OpenFds(t)
	_, err = metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.ErrorIs(t, err, runtime.ErrShutdown)
	_, err = metalnet.DialRuntime(rt, "tcp", client.LocalAddr().String())
	require.ErrorIs(t, err, runtime.ErrShutdown)
	res, err := task.Block(ctx, task.Future[task.Result[*metalnet.Conn]]((&metalnet.Dialer{Runtime: rt}).DialAsync("tcp", client.LocalAddr().String())))
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, runtime.ErrShutdown)
	require.Equal(t, fds, testutil.OpenFds(t))

	// Closing still closes, once.
	for name, c := range map[string]interface{ Close() error }{"Conn": server, "client Conn": client, "Listener": l, "PacketConn": pc} {
		require.NoError(t, c.Close(), name)
		require.ErrorIs(t, c.Close(), net.ErrClosed, name)
	}
	require.Less(t, testutil.OpenFds(t), fds)
}

func TestZeroLengthWritesReturnAtOnce(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()

	n, err := within(t, "Write(nil)", func() ioResult { return newIOResult(server.Write(nil)) }).get()
	require.NoError(t, err)
	require.Zero(t, n)
	res, err := pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) { return server.PollWrite(cx, nil) })
	require.NoError(t, err, "PollWrite of nothing is ready at once")
	require.Equal(t, task.Result[int]{}, res)
	res, err = pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) { return server.PollWritev(cx, [][]byte{nil, {}}) })
	require.NoError(t, err, "PollWritev of nothing is ready at once")
	require.Equal(t, task.Result[int]{}, res)
	wf := server.WriteAsync(nil)
	require.Zero(t, awaitIO(t, rt, "WriteAsync(nil)", task.Future[task.Result[int]](&wf)))
	vf := server.WritevAsync(nil)
	require.Zero(t, awaitIO(t, rt, "WritevAsync(nil)", task.Future[task.Result[int]](&vf)))
	rf := server.ReadFullAsync(nil)
	require.Zero(t, awaitIO(t, rt, "ReadFullAsync(nil)", task.Future[task.Result[int]](&rf)))

	// Nothing reached the peer.
	require.NoError(t, server.CloseWrite())
	require.NoError(t, client.SetReadDeadline(time.Now().Add(misuseTimeout)))
	got, err := client.Read(make([]byte, 8))
	require.Zero(t, got)
	require.ErrorIs(t, err, io.EOF)
}

func TestZeroLengthReadsReturnZeroAndLeaveTheBytes(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	_, err := client.Write([]byte("abc"))
	require.NoError(t, err)

	// A task waits for the bytes, then reads nothing: 0 and no error,
	// not io.EOF.
	rf := server.ReadAsync(nil)
	require.Zero(t, awaitIO(t, rt, "ReadAsync(nil)", task.Future[task.Result[int]](&rf)))
	n, err := within(t, "Read(nil)", func() ioResult { return newIOResult(server.Read(nil)) }).get()
	require.NoError(t, err)
	require.Zero(t, n)

	buf := make([]byte, 8)
	require.NoError(t, server.SetReadDeadline(time.Now().Add(misuseTimeout)))
	got, err := server.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "abc", string(buf[:got]), "the bytes are still there")

	// After the peer closed, still 0 and no error (Go's net does the same);
	// a real read then sees the end.
	require.NoError(t, client.Close())
	n, err = within(t, "Read(nil) after the peer closed", func() ioResult { return newIOResult(server.Read(nil)) }).get()
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = server.Read(buf)
	require.ErrorIs(t, err, io.EOF)
}

// Go's net returns (0, nil) from a zero-length Read on TCP at once, without
// waiting for bytes (internal/poll.FD.Read); so should the facade.
func TestZeroLengthReadOfAnIdleConnReturnsAtOnce(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()
	// A deadline turns a wait into an error instead of a hang.
	require.NoError(t, server.SetReadDeadline(time.Now().Add(2*time.Second)))
	start := time.Now()
	n, err := server.Read(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Less(t, time.Since(start), time.Second)
}

func TestZeroLengthDatagramsAreSentAndReceived(t *testing.T) {
	rt := newRuntime(t)
	a, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()
	n, err := a.WriteTo(nil, b.LocalAddr())
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(misuseTimeout)))
	n, from, err := b.ReadFrom(make([]byte, 8))
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, a.LocalAddr().String(), from.String())
}

func TestBadAddressesAndValuesForAdoptionAreErrors(t *testing.T) {
	rt := newRuntime(t)
	pc, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	var nilUDP *net.UDPAddr
	for name, addr := range map[string]net.Addr{"nil": nil, "nil *UDPAddr": nilUDP, "zero UDPAddr": &net.UDPAddr{}} {
		err := within(t, "WriteTo "+name, func() error { _, err := pc.WriteTo([]byte("x"), addr); return err })
		require.ErrorIs(t, err, metalnet.ErrInvalidAddr, name)
	}
	err = resultErr(pollOnce(rt, func(cx *task.Context) (task.Result[int], bool) {
		return pc.PollSendTo(cx, []byte("x"), netip.AddrPort{})
	}))
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)

	fds := testutil.OpenFds(t)
	_, err = metalnet.NewConn(rt, nil)
	require.Error(t, err)
	_, err = metalnet.NewListener(rt, nil)
	require.Error(t, err)
	std, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, std.Close())
	_, err = metalnet.NewListener(rt, std)
	require.ErrorIs(t, err, net.ErrClosed, "a closed listener")
	require.Equal(t, fds, testutil.OpenFds(t))
	peer := testutil.StdListener(t, testutil.LoopbackV4)
	stdc, err := net.DialTCP("tcp", nil, peer.Addr().(*net.TCPAddr))
	require.NoError(t, err)
	require.NoError(t, stdc.Close())
	fds = testutil.OpenFds(t)
	_, err = metalnet.NewConn(rt, stdc)
	require.ErrorIs(t, err, net.ErrClosed, "a closed connection")
	require.Equal(t, fds, testutil.OpenFds(t))
}

// A typed nil is refused the way TCPStreamFromStd refuses it (errNilStd),
// not with a nil-pointer panic.
func TestAdoptingATypedNilIsAnError(t *testing.T) {
	rt := newRuntime(t)
	noPanic := func(name string, call func() error) {
		t.Helper()
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("%s panicked: %v", name, v)
			}
		}()
		require.Error(t, call(), name)
	}
	var tc *net.TCPConn
	var uc *net.UnixConn
	var tl *net.TCPListener
	var ul *net.UnixListener
	noPanic("NewConn(nil *TCPConn)", func() error { _, err := metalnet.NewConn(rt, tc); return err })
	noPanic("NewConn(nil *UnixConn)", func() error { _, err := metalnet.NewConn(rt, uc); return err })
	noPanic("NewListener(nil *TCPListener)", func() error { _, err := metalnet.NewListener(rt, tl); return err })
	noPanic("NewListener(nil *UnixListener)", func() error { _, err := metalnet.NewListener(rt, ul); return err })
}
