package load

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveTCP runs handle for every connection to a listener on a free port
// and returns its address and a count of connections still open.
func serveTCP(t *testing.T, handle func(net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			open.Add(1)
			wg.Go(func() {
				defer open.Add(-1)
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln.Addr().String(), &open
}

func echoBack(c net.Conn) { _, _ = io.Copy(c, c) }

func TestRunCountsMessagesAndClosesEveryConnection(t *testing.T) {
	addr, open := serveTCP(t, echoBack)
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 20, Size: 16, Pipeline: 3, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Msgs == 0 || res.Msgs%3 != 0 {
		t.Fatalf("errors=%d msgs=%d: want no errors and a positive multiple of 3", res.Errors, res.Msgs)
	}
	if res.Latency.Count() != res.Msgs/3 {
		t.Errorf("%d latency samples for %d rounds", res.Latency.Count(), res.Msgs/3)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open on the server after Run", n)
	}
}

func TestRunDetectsAWrongEcho(t *testing.T) {
	// Echoes faithfully for a while, then flips one bit.
	addr, _ := serveTCP(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for total := 0; ; {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if total += n; total > 10_000 {
				buf[n-1] ^= 1
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 2, Size: 64, Pipeline: 1, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 2 || res.FirstErr == nil || !strings.Contains(res.FirstErr.Error(), "echo differs") {
		t.Fatalf("errors=%d first=%v: want 2 wrong echoes", res.Errors, res.FirstErr)
	}
}

func TestRunReportsAServerThatStopsEchoing(t *testing.T) {
	addr, _ := serveTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 1, Size: 8, Pipeline: 1,
		Duration: 50 * time.Millisecond, RoundTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 1 || !errors.Is(res.FirstErr, os.ErrDeadlineExceeded) {
		t.Fatalf("errors=%d first=%v: want one timeout", res.Errors, res.FirstErr)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	addr, _ := serveTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Addr: addr, Conns: 4, Size: 8, Pipeline: 1, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Run took %v after cancellation", took)
	}
	if res.Errors != 0 {
		t.Errorf("cancellation counted %d errors (%v)", res.Errors, res.FirstErr)
	}
}

func TestRunRefusesABadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Addr: "x", Conns: 0, Size: 1, Pipeline: 1, Duration: time.Second},
		{Addr: "x", Conns: 1, Size: 0, Pipeline: 1, Duration: time.Second},
		{Addr: "x", Conns: 1, Size: 1, Pipeline: 0, Duration: time.Second},
		{Addr: "x", Conns: 1, Size: 1, Pipeline: 1, Duration: 0},
		{Addr: "x", Conns: 1, Size: 1 << 20, Pipeline: 8, Duration: time.Second},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
}

func TestHoldKeepsConnectionsOpenUntilCancelled(t *testing.T) {
	addr, open := serveTCP(t, echoBack)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var gotOpen int
	var gotErr error
	go func() {
		done <- Hold(ctx, addr, 50, 32, func(n int, err error) {
			gotOpen, gotErr = n, err
			if m := open.Load(); m != 50 {
				t.Errorf("the server has %d connections open while Hold holds 50", m)
			}
			cancel()
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if gotOpen != 50 || gotErr != nil {
		t.Fatalf("ready(%d, %v), want ready(50, nil)", gotOpen, gotErr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open on the server after Hold returned", n)
	}
}
