//go:build unix

package net_test

import (
	"context"
	stdnet "net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
)

// newRuntime starts a runtime of two workers, shut down when the test ends.
func newRuntime(t testing.TB, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(append([]runtime.Option{runtime.WithWorkers(2)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx))
	})
	return rt
}

// acceptedConn is what an AcceptConn made on another goroutine returned.
type acceptedConn struct {
	c   *metalnet.Conn
	err error
}

// acceptInBackground calls l.AcceptConn on a goroutine of its own and
// delivers what it returns.
func acceptInBackground(l *metalnet.Listener) <-chan acceptedConn {
	ch := make(chan acceptedConn, 1)
	go func() {
		c, err := l.AcceptConn()
		ch <- acceptedConn{c, err}
	}()
	return ch
}

// facadePair returns two ends of a connection made through metal's
// facade: a Listener's Accept and a Dial, both on rt.
func facadePair(t testing.TB, rt *runtime.Runtime, network, address string) (client, server *metalnet.Conn) {
	t.Helper()
	l, err := metalnet.ListenRuntime(rt, network, address)
	require.NoError(t, err)
	defer l.Close()
	ch := acceptInBackground(l)
	client, err = metalnet.DialRuntime(rt, l.Addr().Network(), l.Addr().String())
	require.NoError(t, err)
	a := <-ch
	require.NoError(t, a.err)
	return client, a.c
}

func TestConnPassesNettestOverTCP(t *testing.T) {
	rt := newRuntime(t)
	nettest.TestConn(t, func() (c1, c2 stdnet.Conn, stop func(), err error) {
		a, b := facadePair(t, rt, "tcp", "127.0.0.1:0")
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}

func TestConnPassesNettestOverUnix(t *testing.T) {
	rt := newRuntime(t)
	nettest.TestConn(t, func() (c1, c2 stdnet.Conn, stop func(), err error) {
		a, b := facadePair(t, rt, "unix", t.TempDir()+"/s")
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}
