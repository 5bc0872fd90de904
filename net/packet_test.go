//go:build unix

package net_test

import (
	"errors"
	stdnet "net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

func TestATaskAnswersUDPDatagrams(t *testing.T) {
	rt := newRuntime(t)
	pc, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()

	// The task answers each datagram with it reversed, until "stop".
	buf := make([]byte, 1500)
	var reply metalnet.SendToFuture
	replying := false
	h := runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			if replying {
				res, ok := reply.Poll(cx)
				if !ok {
					return nil, false
				}
				if res.Err != nil {
					return res.Err, true
				}
				replying = false
			}
			d, ok := pc.PollRecvFrom(cx, buf)
			if !ok {
				return nil, false
			}
			if d.Err != nil {
				return d.Err, true
			}
			if string(buf[:d.N]) == "stop" {
				return nil, true
			}
			msg := buf[:d.N]
			for i, j := 0, len(msg)-1; i < j; i, j = i+1, j-1 {
				msg[i], msg[j] = msg[j], msg[i]
			}
			reply = pc.SendToAsync(msg, d.Addr)
			replying = true
		}
	})))

	c, err := stdnet.Dial("udp", pc.LocalAddr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	in := make([]byte, 64)
	for _, msg := range []string{"abc", "metal", "hello world"} {
		_, err := c.Write([]byte(msg))
		require.NoError(t, err)
		n, err := c.Read(in)
		require.NoError(t, err)
		want := []byte(msg)
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		require.Equal(t, string(want), string(in[:n]))
	}
	_, err = c.Write([]byte("stop"))
	require.NoError(t, err)
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res)
}

func TestPacketConnFacadeOverUDPAndUnixgram(t *testing.T) {
	rt := newRuntime(t)
	for _, tc := range []struct{ network, a, b string }{
		{"udp", "127.0.0.1:0", "127.0.0.1:0"},
		{"unixgram", t.TempDir() + "/a", t.TempDir() + "/b"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			a, err := metalnet.ListenPacketRuntime(rt, tc.network, tc.a)
			require.NoError(t, err)
			defer a.Close()
			b, err := metalnet.ListenPacketRuntime(rt, tc.network, tc.b)
			require.NoError(t, err)
			defer b.Close()

			_, err = a.WriteTo([]byte("ping"), b.LocalAddr())
			require.NoError(t, err)
			buf := make([]byte, 16)
			n, from, err := b.ReadFrom(buf)
			require.NoError(t, err)
			require.Equal(t, "ping", string(buf[:n]))
			require.Equal(t, a.LocalAddr().String(), from.String())

			// A read deadline ends a blocked ReadFrom with a timeout.
			require.NoError(t, b.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
			_, _, err = b.ReadFrom(buf)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var ne stdnet.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout())

			// Close wakes a blocked ReadFrom.
			require.NoError(t, b.SetReadDeadline(time.Time{}))
			done := make(chan error, 1)
			go func() {
				_, _, err := b.ReadFrom(buf)
				done <- err
			}()
			// Give the reader a moment to block; if it has not, it reads
			// a closed socket, which must fail the same way.
			time.Sleep(10 * time.Millisecond)
			require.NoError(t, b.Close())
			require.ErrorIs(t, <-done, stdnet.ErrClosed)
		})
	}
}

func TestPacketConnRejectsTheWrongKindOfAddress(t *testing.T) {
	rt := newRuntime(t)
	pc, err := metalnet.ListenPacketRuntime(rt, "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	_, err = pc.WriteTo([]byte("x"), &stdnet.UnixAddr{Name: "/tmp/x", Net: "unixgram"})
	require.ErrorIs(t, err, metalnet.ErrInvalidAddr)
}
