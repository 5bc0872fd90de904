//go:build unix

package net_test

// The facade and the async sockets beside Go's net, in one run:
//
//	go test -run='^$' -bench='Facade|TaskEcho' -benchmem ./net/

import (
	"context"
	"io"
	stdnet "net"
	"testing"

	"github.com/stretchr/testify/require"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// BenchmarkFacadePingPong64: a goroutine echoes 64 bytes back to another
// over loopback; each side blocks in Read. The metal version waits on
// metal's poller, the stdnet version on Go's.
func BenchmarkFacadePingPong64(b *testing.B) {
	run := func(b *testing.B, client, server stdnet.Conn) {
		go func() {
			buf := make([]byte, benchMsg)
			for {
				if _, err := io.ReadFull(server, buf); err != nil {
					return
				}
				if _, err := server.Write(buf); err != nil {
					return
				}
			}
		}()
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(2 * benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(client, buf); err != nil {
				b.Fatal(err)
			}
		}
		client.Close()
		server.Close()
	}
	b.Run("metal", func(b *testing.B) {
		rt := benchRT(b)
		client, server := facadePair(b, rt, "tcp", "127.0.0.1:0")
		run(b, client, server)
	})
	b.Run("stdnet", func(b *testing.B) {
		client, server := benchStdConns(b)
		run(b, client, server)
	})
}

// BenchmarkTaskEchoRoundTrip64: a goroutine client sends 64 bytes to a
// server and reads them back. The metal server is a task (echoTask) woken
// by the I/O driver; the stdnet server is a goroutine per connection.
func BenchmarkTaskEchoRoundTrip64(b *testing.B) {
	run := func(b *testing.B, c stdnet.Conn) {
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(2 * benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("metal", func(b *testing.B) {
		rt := benchRT(b)
		l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
		require.NoError(b, err)
		loop := serveEcho(rt, l)
		c, err := stdnet.Dial("tcp", l.Addr().String())
		require.NoError(b, err)
		run(b, c)
		c.Close()
		l.Close()
		loop.Wait()
	})
	b.Run("stdnet", func(b *testing.B) {
		l, err := stdnet.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		go func() {
			s, err := l.Accept()
			if err != nil {
				return
			}
			io.Copy(s, s)
			s.Close()
		}()
		c, err := stdnet.Dial("tcp", l.Addr().String())
		require.NoError(b, err)
		run(b, c)
		c.Close()
		l.Close()
	})
}

func benchRT(b *testing.B) *runtime.Runtime {
	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(b, err)
	b.Cleanup(func() { rt.Shutdown(context.Background()) })
	return rt
}

var _ task.Future[error] = (*echoTask)(nil)
