package resp

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// mbulk encodes a command as an array of bulk strings, as clients send it.
func mbulk(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func TestServeCommands(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      string
		consumed  int // -1: all of in
		wantClose bool
	}{
		{"ping", mbulk("PING"), "+PONG\r\n", -1, false},
		{"ping message", mbulk("ping", "hi"), "$2\r\nhi\r\n", -1, false},
		{"ping too many", mbulk("ping", "a", "b"), "-ERR wrong number of arguments for 'ping' command\r\n", -1, false},
		{"set then get", mbulk("SET", "k", "v") + mbulk("GET", "k"), "+OK\r\n$1\r\nv\r\n", -1, false},
		{"get missing", mbulk("GET", "nope"), "$-1\r\n", -1, false},
		{"names in any case", mbulk("sEt", "k", "v1") + mbulk("gET", "k"), "+OK\r\n$2\r\nv1\r\n", -1, false},
		{"overwrite, other length", mbulk("SET", "k", "a") + mbulk("SET", "k", "bcd") + mbulk("GET", "k"), "+OK\r\n+OK\r\n$3\r\nbcd\r\n", -1, false},
		{"overwrite, same length", mbulk("SET", "k", "abc") + mbulk("SET", "k", "xyz") + mbulk("GET", "k"), "+OK\r\n+OK\r\n$3\r\nxyz\r\n", -1, false},
		{"empty value", mbulk("SET", "k", "") + mbulk("GET", "k"), "+OK\r\n$0\r\n\r\n", -1, false},
		{"binary value", mbulk("SET", "k", "a\r\nb") + mbulk("GET", "k"), "+OK\r\n$4\r\na\r\nb\r\n", -1, false},
		{"set options refused", mbulk("SET", "k", "v", "EX", "10") + mbulk("GET", "k"), "-ERR syntax error\r\n$-1\r\n", -1, false},
		{"set too few", mbulk("SET", "k"), "-ERR wrong number of arguments for 'set' command\r\n", -1, false},
		{"get too many", mbulk("GET", "a", "b"), "-ERR wrong number of arguments for 'get' command\r\n", -1, false},
		{"inline", "SET k hello\r\nGET k\r\nPING\n", "+OK\r\n$5\r\nhello\r\n+PONG\r\n", -1, false},
		{"config get", mbulk("CONFIG", "GET", "save") + mbulk("config", "get", "appendonly") + mbulk("CONFIG", "GET", "maxmemory"),
			"*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n*0\r\n", -1, false},
		{"config set", mbulk("CONFIG", "SET", "save", ""), "-ERR unknown subcommand 'SET'. Only CONFIG GET is supported.\r\n", -1, false},
		{"config alone", mbulk("CONFIG"), "-ERR wrong number of arguments for 'config' command\r\n", -1, false},
		{"command", mbulk("COMMAND") + mbulk("COMMAND", "DOCS"), "*0\r\n*0\r\n", -1, false},
		{"unknown", mbulk("FLUSHALL"), "-ERR unknown command 'FLUSHALL'\r\n", -1, false},
		{"unknown name with CRLF", mbulk("A\r\nB"), "-ERR unknown command 'A  B'\r\n", -1, false},
		{"empty commands skipped", "*0\r\n\r\n" + mbulk("PING"), "+PONG\r\n", -1, false},
		{"partial command left", mbulk("PING") + "*1\r\n$4\r\nPI", "+PONG\r\n", len(mbulk("PING")), false},
		{"nothing complete", "*1\r\n$4\r\nPI", "", 0, false},
		{"quit", mbulk("PING") + mbulk("QUIT") + mbulk("PING"), "+PONG\r\n+OK\r\n", len(mbulk("PING") + mbulk("QUIT")), true},
		{"protocol error", mbulk("PING") + "*1\r\n$x\r\n" + mbulk("PING"), "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n", len(mbulk("PING")), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := NewStore()
			consumed, out, closeAfter := db.Serve([]byte(tc.in), nil)
			want := tc.consumed
			if want < 0 {
				want = len(tc.in)
			}
			if string(out) != tc.want || consumed != want || closeAfter != tc.wantClose {
				t.Fatalf("Serve(%q) = %d, %q, %v; want %d, %q, %v", tc.in, consumed, out, closeAfter, want, tc.want, tc.wantClose)
			}
		})
	}
}

func TestServeAppendsToOut(t *testing.T) {
	db := NewStore()
	_, out, _ := db.Serve([]byte(mbulk("PING")), []byte("before;"))
	if string(out) != "before;+PONG\r\n" {
		t.Fatalf("out = %q", out)
	}
}

func TestServeStopsAtMaxBatch(t *testing.T) {
	db := NewStore()
	big := strings.Repeat("v", 300<<10)
	db.Serve([]byte(mbulk("SET", "big", big)), nil)
	get := mbulk("GET", "big")
	in := []byte(strings.Repeat(get, 10))

	var out []byte
	total := 0
	for batches := 1; ; batches++ {
		consumed, o, closeAfter := db.Serve(in, out[:0])
		out = o
		if closeAfter || consumed == 0 {
			t.Fatalf("batch %d: consumed %d, closeAfter %v", batches, consumed, closeAfter)
		}
		// A batch stops with the first reply that takes it to MaxBatch.
		if n := consumed / len(get); len(out) != n*(len(big)+len("$307200\r\n\r\n")) || len(out)-len(big) >= MaxBatch && consumed < len(in) {
			t.Fatalf("batch %d: %d commands, %d bytes of replies", batches, n, len(out))
		}
		total += consumed / len(get)
		in = in[consumed:]
		if len(in) == 0 {
			if batches < 3 {
				t.Fatalf("10 GETs of 300 KiB replied in %d batches; want at least 3", batches)
			}
			break
		}
	}
	if total != 10 {
		t.Fatalf("%d GETs answered, want 10", total)
	}
}

// FuzzServe checks that serving a stream cut in two anywhere, keeping the
// unconsumed rest of the first part as every server does, replies exactly
// as serving it whole.
func FuzzServe(f *testing.F) {
	f.Add([]byte(mbulk("SET", "k", "v")+mbulk("GET", "k")+"PING\r\n"), 7)
	f.Add([]byte(mbulk("SET", "k", "a\r\nb")+mbulk("GET", "k")+mbulk("QUIT")+mbulk("PING")), 20)
	f.Add([]byte("GET k\r\n*1\r\n$x\r\n"), 3)
	f.Add([]byte("*2\r\n$4\r\nPING\r\n$3\r\nabc\r\n*0\r\n\r\n"), 15)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			return
		}
		whole, closedWhole := serveStream(NewStore(), in)
		var out []byte
		db := NewStore()
		pending := append([]byte(nil), in[:cut]...)
		consumed, o, closeAfter := serveUntilIdle(db, pending, nil)
		out = o
		if !closeAfter {
			pending = append(pending[consumed:], in[cut:]...)
			_, out, closeAfter = serveUntilIdle(db, pending, out)
		}
		if !bytes.Equal(out, whole) || closeAfter != closedWhole {
			t.Fatalf("cut at %d: %q, close %v; whole: %q, close %v", cut, out, closeAfter, whole, closedWhole)
		}
	})
}

// serveStream serves in all at once.
func serveStream(db *Store, in []byte) ([]byte, bool) {
	_, out, closeAfter := serveUntilIdle(db, in, nil)
	return out, closeAfter
}

// serveUntilIdle calls Serve until it needs more input or closes.
func serveUntilIdle(db *Store, in, out []byte) (consumed int, _ []byte, closeAfter bool) {
	for {
		n, o, closeAfter := db.Serve(in[consumed:], out)
		consumed += n
		out = o
		if closeAfter || n == 0 {
			return consumed, out, closeAfter
		}
	}
}

func TestStoreConcurrentSetAndGet(t *testing.T) {
	db := NewStore()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var out []byte
			for i := range 200 {
				key := fmt.Sprintf("k%d", i%20)
				val := strings.Repeat(string(rune('a'+g)), 1+i%3)
				_, out, _ = db.Serve([]byte(mbulk("SET", key, val)+mbulk("GET", key)), out[:0])
				if !bytes.HasPrefix(out, []byte("+OK\r\n$")) {
					t.Errorf("reply %q", out)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestServeAllocations holds the hot path to its allocation budget: none
// for PING and GET, none for a SET that overwrites a value of the same
// length, and two for any other SET (the copy, and the key's string, which
// a map assignment takes even when the key is there), plus the map's
// growth.
func TestServeAllocations(t *testing.T) {
	db := NewStore()
	db.Serve([]byte(mbulk("SET", "key:000000000001", "xxx")), nil)
	out := make([]byte, 0, 4096)
	measure := func(in string) float64 {
		b := []byte(in)
		return testing.AllocsPerRun(1000, func() {
			_, out, _ = db.Serve(b, out[:0])
		})
	}
	for _, tc := range []struct {
		name string
		in   string
		max  float64
	}{
		{"PING", mbulk("PING"), 0},
		{"inline PING", "PING\r\n", 0},
		{"GET hit", mbulk("GET", "key:000000000001"), 0},
		{"GET miss", mbulk("GET", "missing"), 0},
		{"SET same length", mbulk("SET", "key:000000000001", "yyy"), 0},
		{"pipelined 16", strings.Repeat(mbulk("SET", "key:000000000001", "zzz")+mbulk("GET", "key:000000000001"), 8), 0},
		{"unknown command", mbulk("NOPE", "x"), 0},
	} {
		if got := measure(tc.in); got > tc.max {
			t.Errorf("%s: %.2f allocations per Serve, want <= %.0f", tc.name, got, tc.max)
		}
	}

	lengths := [2][]byte{[]byte(mbulk("SET", "key:000000000001", "a")), []byte(mbulk("SET", "key:000000000001", "bb"))}
	i := 0
	if got := testing.AllocsPerRun(1000, func() {
		i++
		_, out, _ = db.Serve(lengths[i%2], out[:0])
	}); got > 2 {
		t.Errorf("SET of another length: %.2f allocations, want <= 2 (the copy, and the key for the map assignment)", got)
	}

	const n = 1000
	cmds := make([][]byte, n+1)
	for i := range cmds {
		cmds[i] = []byte(mbulk("SET", fmt.Sprintf("new:%06d", i), "xxx"))
	}
	i = 0
	if got := testing.AllocsPerRun(n, func() {
		_, out, _ = db.Serve(cmds[i], out[:0])
		i++
	}); got > 2.5 {
		t.Errorf("SET of a new key: %.2f allocations, want about 2 (key, value) and the map's growth", got)
	}
}

// BenchmarkServe measures the protocol core alone: parse, run, reply, for
// one command per call and for a pipeline of 16.
func BenchmarkServe(b *testing.B) {
	key := "key:__rand_int__" // what redis-benchmark sends without -r
	for _, bc := range []struct{ name, in string }{
		{"PING", mbulk("PING")},
		{"PING_INLINE", "PING\r\n"},
		{"SET", mbulk("SET", key, "xxx")},
		{"GET", mbulk("GET", key)},
		{"GET_miss", mbulk("GET", "missing")},
		{"pipeline16", strings.Repeat(mbulk("SET", key, "xxx")+mbulk("GET", key), 8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := NewStore()
			db.Serve([]byte(mbulk("SET", key, "xxx")), nil)
			in := []byte(bc.in)
			out := make([]byte, 0, 4096)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				_, out, _ = db.Serve(in, out[:0])
			}
		})
	}
}

// oneLockStore is the plain Go alternative to Store: one map behind one
// RWMutex.
type oneLockStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (s *oneLockStore) appendGet(out, key []byte) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v, ok := s.m[string(key)]; ok {
		return appendBulk(out, v)
	}
	return append(out, replyNull...)
}

func (s *oneLockStore) set(key, value []byte) {
	s.mu.Lock()
	s.m[string(key)] = bytes.Clone(value)
	s.mu.Unlock()
}

// BenchmarkStoreParallel compares the sharded store with one map behind
// one lock, every goroutine doing nine GETs to one SET over 1000 keys.
func BenchmarkStoreParallel(b *testing.B) {
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%06d", i)
	}
	value := []byte("xxx")
	run := func(b *testing.B, get func(out, key []byte) []byte, set func(key, value []byte)) {
		for _, k := range keys {
			set(k, value)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			out := make([]byte, 0, 64)
			i := 0
			for pb.Next() {
				k := keys[i%len(keys)]
				if i%10 == 0 {
					set(k, value)
				} else {
					out = get(out[:0], k)
				}
				i++
			}
		})
	}
	b.Run("sharded", func(b *testing.B) {
		db := NewStore()
		run(b, db.appendGet, db.set)
	})
	b.Run("one-lock", func(b *testing.B) {
		db := &oneLockStore{m: make(map[string][]byte)}
		run(b, db.appendGet, db.set)
	})
}
