//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/testutil"
)

// server is the netpoller binary, built on first use.
var server = testutil.NewExample("netpoller")

// TestMain runs the tests, then removes the binary if one was built.
func TestMain(m *testing.M) { server.TestMain(m) }

// dial connects to addr with a deadline on everything that follows.
func dial(t *testing.T, addr string) *stdnet.TCPConn {
	t.Helper()
	return testutil.DialTCP(t, addr, 10*time.Second, 30*time.Second)
}

// words are what the clients' lines are made of: ASCII and not.
var words = []string{"metal", "poller", "edge", "Ünïcödé", "straße", "ĳssel", "ωμέγα", "日本", "x", ""}

func TestNetpollerAnswersEveryClientsLinesInUpperCase(t *testing.T) {
	addr, _ := server.Start(t)
	const clients, lines = 50, 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := stdnet.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			var sent, want strings.Builder
			for l := range lines {
				line := fmt.Sprintf("client %d line %d:", i, l)
				for range rng.IntN(8) {
					line += " " + words[rng.IntN(len(words))]
				}
				sent.WriteString(line + "\n")
				want.WriteString(strings.ToUpper(line) + "\n")
			}
			// Written in pieces of random size, so lines (and runes) are
			// split across reads on the server.
			go func() {
				b := []byte(sent.String())
				for len(b) > 0 {
					n := min(len(b), 1+rng.IntN(300))
					if _, err := c.Write(b[:n]); err != nil {
						return
					}
					b = b[n:]
				}
			}()
			got := make([]byte, want.Len())
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			if string(got) != want.String() {
				errs <- fmt.Errorf("client %d: answers differ from the upper-cased lines", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNetpollerAnswersTheLastLineWhenTheClientShutsDown(t *testing.T) {
	addr, _ := server.Start(t)
	c := dial(t, addr)
	_, err := c.Write([]byte("first\nno newline at the end"))
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err, "the server answers and closes")
	require.Equal(t, "FIRST\nNO NEWLINE AT THE END", string(got))
}

func TestNetpollerRefusesAnOverlongLineAndServesOthers(t *testing.T) {
	addr, _ := server.Start(t)
	bad := dial(t, addr)
	good := dial(t, addr)

	_, err := bad.Write([]byte("ok\n" + strings.Repeat("z", maxLine+100)))
	require.NoError(t, err)
	// The answer to what came before, the refusal, then end of stream:
	// the server shut down its side.
	got, err := io.ReadAll(bad)
	require.NoError(t, err)
	require.Equal(t, "OK\n"+string(errLineTooLong), string(got))
	// What the client sends now is read and dropped, not answered.
	_, err = bad.Write([]byte("more\n"))
	require.NoError(t, err)

	_, err = good.Write([]byte("still served\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(good).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "STILL SERVED\n", line)
}

// A client that sends without reading its answers: the server stops
// reading it once its answers wait to be written, so the client's write
// stalls when the kernel's buffers are full instead of the server
// taking everything into memory; others are served meanwhile; and the
// client gets every answer once it reads.
func TestNetpollerHoldsBackAClientThatDoesNotRead(t *testing.T) {
	addr, _ := server.Start(t)
	slow := dial(t, addr)
	// Several times what the socket buffers on both paths took when this
	// was written (about 10 MiB on Linux loopback).
	payload := bytes.Repeat([]byte("all work and no play makes jack\n"), 1<<20) // 32 MiB
	want := bytes.ToUpper(payload)

	type written struct {
		n   int
		err error
	}
	first := make(chan written, 1)
	go func() {
		_ = slow.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := slow.Write(payload)
		first <- written{n, err}
	}()

	fast := dial(t, addr)
	r := bufio.NewReader(fast)
	for i := range 100 {
		_, err := fmt.Fprintf(fast, "ping %d\n", i)
		require.NoError(t, err)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("PING %d\n", i), line)
	}

	w := <-first
	var ne stdnet.Error
	require.True(t, errors.As(w.err, &ne) && ne.Timeout(),
		"the write of %d MiB should stall while the client reads nothing; it wrote %d bytes, err %v",
		len(payload)>>20, w.n, w.err)
	require.Less(t, w.n, len(payload))
	t.Logf("the write stalled after %.1f MiB", float64(w.n)/(1<<20))

	done := make(chan error, 1)
	go func() {
		_ = slow.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := slow.Write(payload[w.n:])
		done <- err
	}()
	got := make([]byte, len(want))
	_, err := io.ReadFull(slow, got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "the answers differ from the upper-cased lines")
	require.NoError(t, <-done)
}

func TestNetpollerStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			addr, cmd := server.Start(t)
			c := dial(t, addr)
			// A round trip first: the connection is being served when
			// the signal comes.
			_, err := c.Write([]byte("hi\n"))
			require.NoError(t, err)
			line, err := bufio.NewReader(c).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "HI\n", line)

			testutil.StopWithSignal(t, cmd, sig)
			// Its connections were closed on the way out, and nothing
			// listens any more.
			_, err = c.Read(make([]byte, 1))
			require.ErrorIs(t, err, io.EOF)
			_, err = stdnet.DialTimeout("tcp", addr, 5*time.Second)
			require.ErrorIs(t, err, syscall.ECONNREFUSED)
		})
	}
}

// The framework's own descriptors are as metal's: non-blocking and
// close-on-exec, the listener's and every accepted one's.
func TestListenAndAcceptMakeNonblockingCloexecDescriptors(t *testing.T) {
	lfd, bound, err := listenTCP("127.0.0.1:0")
	require.NoError(t, err)
	defer unix.Close(lfd)
	testutil.RequireNonblockCloexec(t, lfd)
	require.NotZero(t, bound.Port())

	_, err = accept(lfd)
	require.ErrorIs(t, err, unix.EAGAIN, "nothing to accept yet")

	c, err := stdnet.Dial("tcp", bound.String())
	require.NoError(t, err)
	defer c.Close()
	// Wait for the connection to be acceptable, as a reactor would.
	ready, err := unix.Poll([]unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}, 10_000)
	require.NoError(t, err)
	require.Equal(t, 1, ready)
	fd, err := accept(lfd)
	require.NoError(t, err)
	defer unix.Close(fd)
	testutil.RequireNonblockCloexec(t, fd)

	_, _, err = listenTCP(bound.String())
	require.ErrorIs(t, err, unix.EADDRINUSE)
	_, _, err = listenTCP("not an address")
	require.Error(t, err)
}
