package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// serveTCP runs handle for every connection to a listener on a free
// loopback port until the test ends, and returns the address.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// echoBack is a faithful echo server's connection.
func echoBack(c net.Conn) { _, _ = io.Copy(c, c) }

// echoCorrupting echoes faithfully for 10,000 bytes, then flips a bit of
// every read.
func echoCorrupting(c net.Conn) {
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
}

// kvStore is a fake kv server: SET, GET and QUIT over RESP arrays of bulk
// strings. mangle, if set, changes what GET returns.
type kvStore struct {
	mu     sync.Mutex
	m      map[string]string
	mangle func(v string, found bool) string // the whole reply
}

func newKVStore() *kvStore { return &kvStore{m: map[string]string{}} }

func (s *kvStore) serve(c net.Conn) {
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		args, err := readArray(r)
		if err != nil {
			return
		}
		switch args[0] {
		case "SET":
			s.mu.Lock()
			s.m[args[1]] = args[2]
			s.mu.Unlock()
			w.WriteString("+OK\r\n")
		case "GET":
			s.mu.Lock()
			v, found := s.m[args[1]]
			s.mu.Unlock()
			switch {
			case s.mangle != nil:
				w.WriteString(s.mangle(v, found))
			case found:
				w.WriteString("$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n")
			default:
				w.WriteString("$-1\r\n")
			}
		case "QUIT":
			w.WriteString("+OK\r\n")
			w.Flush()
			return
		default:
			w.WriteString("-ERR unknown command\r\n")
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func (s *kvStore) keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// readArray reads one RESP array of bulk strings.
func readArray(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(line[1 : len(line)-2])
	if err != nil || line[0] != '*' || n < 1 {
		return nil, errors.New("not an array")
	}
	args := make([]string, n)
	for i := range args {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(line[1 : len(line)-2])
		if err != nil || line[0] != '$' {
			return nil, errors.New("not a bulk string")
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// dialClient returns a client connected to addr, closed when the test
// ends.
func dialClient(t *testing.T, addr string, timeout time.Duration) *client {
	t.Helper()
	c := newClient(rand.New(rand.NewPCG(3, 4)), "soak:test", timeout)
	if err := c.dial(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func TestEchoExchangesAreVerified(t *testing.T) {
	c := dialClient(t, serveTCP(t, echoBack), 5*time.Second)
	total := 0
	for range 50 {
		n, err := echoProto{}.exchange(c)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || n > maxEchoBatch {
			t.Fatalf("an exchange of %d messages", n)
		}
		total += n
	}
	if total <= 50 {
		t.Fatalf("50 exchanges made %d requests: never more than one message at once", total)
	}
}

func TestEchoExchangeCatchesACorruptedByte(t *testing.T) {
	c := dialClient(t, serveTCP(t, echoCorrupting), 5*time.Second)
	for i := range 1000 {
		if _, err := (echoProto{}).exchange(c); err != nil {
			if !errors.Is(err, errWrongReply) {
				t.Fatalf("exchange %d: %v, want a wrong reply", i, err)
			}
			return
		}
	}
	t.Fatal("1000 exchanges with a server that corrupts every read after 10,000 bytes all passed")
}

func TestEchoFinishWantsTheEchoAndThenTheEnd(t *testing.T) {
	c := dialClient(t, serveTCP(t, echoBack), 5*time.Second)
	if n, err := (echoProto{}).finish(c); n != 1 || err != nil {
		t.Fatalf("finish with a server that echoes and closes: %d, %v", n, err)
	}

	// A server that echoes everything but never closes.
	stay := make(chan struct{})
	addr := serveTCP(t, func(c net.Conn) { echoBack(c); <-stay })
	t.Cleanup(func() { close(stay) }) // before serveTCP's cleanup waits for the server
	c = dialClient(t, addr, 200*time.Millisecond)
	if _, err := (echoProto{}).finish(c); err == nil {
		t.Fatal("finish succeeded with a server that does not close")
	}
}

func TestKVExchangeSetsAndGetsTheClientsOwnKeys(t *testing.T) {
	db := newKVStore()
	c := dialClient(t, serveTCP(t, db.serve), 5*time.Second)
	for i := range 3 * kvKeysPerClient {
		n, err := kvProto{}.exchange(c)
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if n != 2 {
			t.Fatalf("an exchange of %d requests, want SET and GET", n)
		}
	}
	if got := db.keys(); got != kvKeysPerClient {
		t.Fatalf("%d keys set, want the client's %d, each set again and again", got, kvKeysPerClient)
	}
}

func TestKVExchangeCatchesAWrongReply(t *testing.T) {
	for name, mangle := range map[string]func(string, bool) string{
		"nil":        func(string, bool) string { return "$-1\r\n" },
		"stale":      func(v string, _ bool) string { return "$" + strconv.Itoa(len(v)) + "\r\n" + v[:len(v)-1] + "x\r\n" },
		"error":      func(string, bool) string { return "-ERR no\r\n" },
		"integer":    func(string, bool) string { return ":1\r\n" },
		"no CR":      func(v string, _ bool) string { return "$" + strconv.Itoa(len(v)) + "\n" },
		"short bulk": func(v string, _ bool) string { return "$" + strconv.Itoa(len(v)+1) + "\r\n" + v + "\r\nX" },
	} {
		t.Run(name, func(t *testing.T) {
			db := newKVStore()
			db.mangle = mangle
			c := dialClient(t, serveTCP(t, db.serve), 5*time.Second)
			if _, err := (kvProto{}).exchange(c); !errors.Is(err, errWrongReply) {
				t.Fatalf("exchange: %v, want a wrong reply", err)
			}
		})
	}
}

func TestKVFinishSendsQuitAndWantsTheEnd(t *testing.T) {
	c := dialClient(t, serveTCP(t, newKVStore().serve), 5*time.Second)
	if n, err := (kvProto{}).finish(c); n != 1 || err != nil {
		t.Fatalf("finish: %d, %v", n, err)
	}
}

func TestKVCommandsAreRESP(t *testing.T) {
	got := string(appendCommand(nil, "SET", "k", []byte("v\r\n")))
	if want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n"; got != want {
		t.Fatalf("appendCommand = %q, want %q", got, want)
	}
}

// runTraffic puts a small load on addr for d and returns its counts.
func runTraffic(t *testing.T, p protocol, addr string, d time.Duration) *stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var s stats
	traffic{proto: p, addr: addr, steadyConns: 4, churnWorkers: 4, opTimeout: 5 * time.Second, seed: 1}.run(ctx, &s)
	return &s
}

func TestTrafficAgainstFaithfulServersLosesNothing(t *testing.T) {
	for _, c := range []struct {
		p    protocol
		addr string
	}{
		{echoProto{}, serveTCP(t, echoBack)},
		{kvProto{}, serveTCP(t, newKVStore().serve)},
	} {
		t.Run(c.p.name(), func(t *testing.T) {
			s := runTraffic(t, c.p, c.addr, 500*time.Millisecond)
			if lost, failed := s.lost.Load(), s.dialFailures.Load(); lost != 0 || failed != 0 {
				t.Fatalf("%d requests lost, %d dials failed: %v", lost, failed, s.firstErrors())
			}
			if s.requests.Load() < 100 || s.conns.Load() < 20 {
				t.Fatalf("%d requests on %d connections in half a second", s.requests.Load(), s.conns.Load())
			}
			var churned uint64
			for i := range numChurnStyles {
				churned += s.styles[i].Load()
			}
			if churned != s.conns.Load()-4 {
				t.Fatalf("%d churn connections by style, %d opened less 4 steady ones", churned, s.conns.Load()-4)
			}
		})
	}
}

func TestTrafficCountsWhatACorruptingServerLoses(t *testing.T) {
	s := runTraffic(t, echoProto{}, serveTCP(t, echoCorrupting), 500*time.Millisecond)
	if s.lost.Load() == 0 {
		t.Fatalf("nothing lost to a server that corrupts every echo after 10,000 bytes (%d verified)", s.requests.Load())
	}
	if errs := s.firstErrors(); len(errs) == 0 || len(errs) > maxErrors {
		t.Fatalf("%d errors kept, want 1 to %d", len(errs), maxErrors)
	}
}

func TestTrafficCountsFailedDials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := runTraffic(t, kvProto{}, addr, 100*time.Millisecond)
	if s.dialFailures.Load() == 0 || s.conns.Load() != 0 {
		t.Fatalf("%d dials failed, %d connections opened, to a closed port", s.dialFailures.Load(), s.conns.Load())
	}
}
