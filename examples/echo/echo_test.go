package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
)

// modes are the server styles; every test runs against each.
var modes = []string{"task", "poller"}

// forEachMode runs test as a subtest per mode.
func forEachMode(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { test(t, mode) })
	}
}

// server is the echo binary, built on first use.
var server = testutil.NewExample("echo")

// TestMain runs the tests, then removes the binary if one was built.
func TestMain(m *testing.M) { server.TestMain(m) }

func TestEchoServesNetcat(t *testing.T) {
	nc := testutil.RequireTool(t, "nc", "netcat-openbsd")
	forEachMode(t, func(t *testing.T, mode string) {
		addr, _ := server.Start(t, "-mode", mode)
		host, port := testutil.HostPort(t, addr)

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		msg := "hello from netcat\nsecond line\n"
		// -N: shut down the writing half at end of input, so the server
		// sees end of stream, echoes the rest and closes, and nc exits.
		cmd := exec.CommandContext(ctx, nc, "-N", host, port)
		cmd.Stdin = strings.NewReader(msg)
		out, err := cmd.Output()
		require.NoError(t, err)
		require.Equal(t, msg, string(out))
	})
}

func TestEchoServesAThousandConnections(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string) {
		addr, _ := server.Start(t, "-mode", mode)
		const (
			clients  = 1000
			messages = 20
		)
		conns := make([]stdnet.Conn, 0, clients)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		// All connected at once before any traffic: 1,000 live
		// connections.
		for range clients {
			c, err := stdnet.DialTimeout("tcp", addr, 10*time.Second)
			require.NoError(t, err)
			conns = append(conns, c)
		}
		deadline := time.Now().Add(60 * time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i, c := range conns {
			wg.Go(func() {
				_ = c.SetDeadline(deadline)
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				got := make([]byte, 4096)
				for m := range messages {
					msg := make([]byte, 1+rng.IntN(4096))
					for k := range msg {
						msg[k] = byte(rng.Uint32())
					}
					if _, err := c.Write(msg); err != nil {
						errs <- fmt.Errorf("client %d message %d: write: %w", i, m, err)
						return
					}
					if _, err := io.ReadFull(c, got[:len(msg)]); err != nil {
						errs <- fmt.Errorf("client %d message %d: read: %w", i, m, err)
						return
					}
					if !bytes.Equal(msg, got[:len(msg)]) {
						errs <- fmt.Errorf("client %d message %d: echo differs", i, m)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// A client that sends a lot without reading: the server stops reading it
// once its one buffer waits to be written back, so the client's write
// stalls when the kernel's buffers are full instead of the server taking
// everything into memory; everyone else is served meanwhile; and the slow
// client gets every byte back once it reads.
func TestEchoSlowReaderDoesNotStallOthers(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string) {
		addr, _ := server.Start(t, "-mode", mode)
		slow, err := stdnet.Dial("tcp", addr)
		require.NoError(t, err)
		defer slow.Close()

		// Several times what the socket buffers on both paths took when
		// this was written (about 10 MiB on Linux loopback): a server that
		// kept reading would take it all within the write deadline.
		payload := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), 1<<20) // 32 MiB
		type written struct {
			n   int
			err error
		}
		firstWrite := make(chan written, 1)
		go func() {
			_ = slow.SetWriteDeadline(time.Now().Add(2 * time.Second))
			n, err := slow.Write(payload)
			firstWrite <- written{n, err}
		}()

		fast, err := stdnet.Dial("tcp", addr)
		require.NoError(t, err)
		defer fast.Close()
		require.NoError(t, fast.SetDeadline(time.Now().Add(10*time.Second)))
		for range 100 {
			_, err := fast.Write([]byte("ping"))
			require.NoError(t, err)
			buf := make([]byte, 4)
			_, err = io.ReadFull(fast, buf)
			require.NoError(t, err)
			require.Equal(t, "ping", string(buf))
		}

		w := <-firstWrite
		var ne stdnet.Error
		require.True(t, errors.As(w.err, &ne) && ne.Timeout(),
			"the slow client's write of %d MiB should stall while it reads nothing; it wrote %d bytes, err %v",
			len(payload)>>20, w.n, w.err)
		require.Less(t, w.n, len(payload))
		t.Logf("the slow client's write stalled after %.1f MiB", float64(w.n)/(1<<20))

		// Now it reads, and the rest of its write goes through.
		writeDone := make(chan error, 1)
		go func() {
			_ = slow.SetWriteDeadline(time.Now().Add(30 * time.Second))
			_, err := slow.Write(payload[w.n:])
			writeDone <- err
		}()
		require.NoError(t, slow.SetReadDeadline(time.Now().Add(30*time.Second)))
		got := make([]byte, len(payload))
		_, err = io.ReadFull(slow, got)
		require.NoError(t, err)
		require.True(t, bytes.Equal(payload, got), "the echo differs from what was sent")
		require.NoError(t, <-writeDone)
	})
}

func TestEchoStopsCleanlyOnSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			addr, cmd := server.Start(t, "-mode", mode)
			c, err := stdnet.Dial("tcp", addr)
			require.NoError(t, err)
			// A round trip first, so the connection is being served
			// (in -mode task, a task waits on it) when the signal comes.
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = c.Write([]byte("hi"))
			require.NoError(t, err)
			_, err = io.ReadFull(c, make([]byte, 2))
			require.NoError(t, err)

			testutil.StopWithSignal(t, cmd, sig)
			// Its connections were closed on the way out.
			_, err = c.Read(make([]byte, 1))
			require.ErrorIs(t, err, io.EOF)
			c.Close()
			// And nothing listens any more.
			_, err = stdnet.DialTimeout("tcp", addr, 5*time.Second)
			require.ErrorIs(t, err, syscall.ECONNREFUSED)
		}
	})
}

func TestEchoRejectsAnUnknownMode(t *testing.T) {
	out, err := exec.Command(server.Binary(t), "-addr", "127.0.0.1:0", "-mode", "threads").CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.NotZero(t, exit.ExitCode())
	require.Contains(t, string(out), `unknown -mode "threads"`)
}
