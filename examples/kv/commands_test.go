package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the fixed time commands run at in these tests (Unix ns).
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// newSession returns a session on an empty store at t0.
func newSession() *session { return &session{db: newStore(), now: t0} }

// do runs one command and returns its raw reply.
func do(s *session, args ...string) string {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return string(s.execute(nil, bs))
}

// step is one command and the reply it must get.
type step struct {
	cmd   []string
	reply string
}

// c builds a step from a command line split on spaces and its reply.
func c(line, reply string) step { return step{strings.Fields(line), reply} }

// runSteps runs each step on s and checks its reply.
func runSteps(t *testing.T, s *session, steps []step) {
	t.Helper()
	for _, st := range steps {
		require.Equal(t, st.reply, do(s, st.cmd...), "%q", st.cmd)
	}
}

func TestPingAndEcho(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("PING", "+PONG\r\n"),
		c("ping hello", "$5\r\nhello\r\n"),
		c("PING a b", "-ERR wrong number of arguments for 'ping' command\r\n"),
		c("ECHO hi", "$2\r\nhi\r\n"),
		c("ECHO", "-ERR wrong number of arguments for 'echo' command\r\n"),
		{[]string{"ECHO", ""}, "$0\r\n\r\n"},
	})
}

func TestSetGetDel(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("GET k", "$-1\r\n"),
		c("SET k v1", "+OK\r\n"),
		c("GET k", "$2\r\nv1\r\n"),
		c("SET k longer-value", "+OK\r\n"),
		c("GET k", "$12\r\nlonger-value\r\n"),
		c("STRLEN k", ":12\r\n"),
		c("SET k v", "+OK\r\n"), // shorter: the buffer is reused
		c("GET k", "$1\r\nv\r\n"),
		c("STRLEN k", ":1\r\n"),
		c("STRLEN missing", ":0\r\n"),
		c("set K other", "+OK\r\n"), // keys are case-sensitive, names are not
		c("GeT k", "$1\r\nv\r\n"),
		c("DEL k K missing", ":2\r\n"),
		c("DEL k", ":0\r\n"),
		c("GET k", "$-1\r\n"),
		c("GET", "-ERR wrong number of arguments for 'get' command\r\n"),
		c("GET a b", "-ERR wrong number of arguments for 'get' command\r\n"),
		c("SET k", "-ERR wrong number of arguments for 'set' command\r\n"),
		c("DEL", "-ERR wrong number of arguments for 'del' command\r\n"),
	})
}

func TestSetOptions(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("SET k v XX", "$-1\r\n"),
		c("EXISTS k", ":0\r\n"),
		c("SET k v NX", "+OK\r\n"),
		c("SET k w NX", "$-1\r\n"),
		c("GET k", "$1\r\nv\r\n"),
		c("SET k w xx", "+OK\r\n"),
		c("GET k", "$1\r\nw\r\n"),
		c("SET k v NX XX", "-ERR syntax error\r\n"),
		c("SET k v EX", "-ERR syntax error\r\n"),
		c("SET k v EX 1 PX 1000", "-ERR syntax error\r\n"),
		c("SET k v EX 1 KEEPTTL", "-ERR syntax error\r\n"),
		c("SET k v BOGUS", "-ERR syntax error\r\n"),
		c("SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n"),
		c("SET k v PX -5", "-ERR invalid expire time in 'set' command\r\n"),
		c("SET k v EX 99999999999999999", "-ERR invalid expire time in 'set' command\r\n"),
		c("SET k v EX ten", "-ERR value is not an integer or out of range\r\n"),
		c("GET k", "$1\r\nw\r\n"), // failed SETs changed nothing
	})
}

func TestExpiryWithEXPXAndTTL(t *testing.T) {
	s := newSession()
	runSteps(t, s, []step{
		c("TTL missing", ":-2\r\n"),
		c("SET k v", "+OK\r\n"),
		c("TTL k", ":-1\r\n"),
		c("PTTL k", ":-1\r\n"),
		c("SET k v EX 10", "+OK\r\n"),
		c("TTL k", ":10\r\n"),
		c("PTTL k", ":10000\r\n"),
		c("SET p v PX 1500", "+OK\r\n"),
		c("TTL p", ":2\r\n"), // 1.5 s rounds to 2, as in Redis
	})
	s.now += int64(1499 * time.Millisecond)
	runSteps(t, s, []step{
		c("PTTL p", ":1\r\n"),
		c("GET p", "$1\r\nv\r\n"),
	})
	s.now += int64(time.Millisecond)
	runSteps(t, s, []step{
		c("GET p", "$-1\r\n"), // expired on the dot
		c("EXISTS p", ":0\r\n"),
		c("TTL p", ":-2\r\n"),
		c("SET k v2 KEEPTTL", "+OK\r\n"),
		c("TTL k", ":9\r\n"),
		c("SET k v3", "+OK\r\n"), // a plain SET drops the TTL
		c("TTL k", ":-1\r\n"),
	})
}

func TestExpireCommand(t *testing.T) {
	s := newSession()
	runSteps(t, s, []step{
		c("EXPIRE missing 10", ":0\r\n"),
		c("SET k v", "+OK\r\n"),
		c("EXPIRE k 10 XX", ":0\r\n"),
		c("EXPIRE k 10 NX", ":1\r\n"),
		c("EXPIRE k 20 NX", ":0\r\n"),
		c("TTL k", ":10\r\n"),
		c("EXPIRE k 5 GT", ":0\r\n"),
		c("EXPIRE k 30 GT", ":1\r\n"),
		c("EXPIRE k 40 LT", ":0\r\n"),
		c("EXPIRE k 7 lt", ":1\r\n"),
		c("TTL k", ":7\r\n"),
		c("PEXPIRE k 2500", ":1\r\n"),
		c("PTTL k", ":2500\r\n"),
		c("EXPIRE k 10 XX", ":1\r\n"),
		c("EXPIRE k 10 BAD", "-ERR Unsupported option BAD\r\n"),
		c("EXPIRE k 10 NX XX", "-ERR syntax error\r\n"),
		c("EXPIRE k ten", "-ERR value is not an integer or out of range\r\n"),
		c("EXPIRE k 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"),
		c("EXPIRE k", "-ERR wrong number of arguments for 'expire' command\r\n"),
		c("TTL k", ":10\r\n"),
		c("EXPIRE k 0", ":1\r\n"), // a time in the past deletes
		c("EXISTS k", ":0\r\n"),
		c("SET n v", "+OK\r\n"),
		c("EXPIRE n -1", ":1\r\n"),
		c("GET n", "$-1\r\n"),
	})
}

func TestExistsCountsEachNaming(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("MSET a 1 b 2", "+OK\r\n"),
		c("EXISTS a b c a", ":3\r\n"),
		c("EXISTS", "-ERR wrong number of arguments for 'exists' command\r\n"),
	})
}

func TestIncrFamily(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("INCR n", ":1\r\n"),
		c("INCR n", ":2\r\n"),
		c("INCRBY n 40", ":42\r\n"),
		c("DECR n", ":41\r\n"),
		c("DECRBY n 50", ":-9\r\n"),
		c("GET n", "$2\r\n-9\r\n"),
		c("SET s abc", "+OK\r\n"),
		c("INCR s", "-ERR value is not an integer or out of range\r\n"),
		c("SET s 007", "+OK\r\n"),
		c("INCR s", "-ERR value is not an integer or out of range\r\n"),
		{[]string{"SET", "s", " 7"}, "+OK\r\n"},
		c("INCR s", "-ERR value is not an integer or out of range\r\n"),
		c("SET m 9223372036854775807", "+OK\r\n"),
		c("INCR m", "-ERR increment or decrement would overflow\r\n"),
		c("SET m -9223372036854775808", "+OK\r\n"),
		c("DECR m", "-ERR increment or decrement would overflow\r\n"),
		c("DECRBY m -9223372036854775808", "-ERR decrement would overflow\r\n"),
		c("INCRBY m x", "-ERR value is not an integer or out of range\r\n"),
		c("INCR", "-ERR wrong number of arguments for 'incr' command\r\n"),
		c("SET t 5 EX 100", "+OK\r\n"),
		c("INCR t", ":6\r\n"),
		c("TTL t", ":100\r\n"), // INCR keeps the TTL
	})
}

func TestMGetMSet(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("MSET a 1 b 22 c 333", "+OK\r\n"),
		c("MGET a missing c b", "*4\r\n$1\r\n1\r\n$-1\r\n$3\r\n333\r\n$2\r\n22\r\n"),
		c("MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"),
		c("MSET a", "-ERR wrong number of arguments for 'mset' command\r\n"),
		c("MGET", "-ERR wrong number of arguments for 'mget' command\r\n"),
		c("SET e v EX 10", "+OK\r\n"),
		c("MSET e w", "+OK\r\n"),
		c("TTL e", ":-1\r\n"), // MSET replaces the TTL too
	})
}

func TestDBSizeAndFlushAll(t *testing.T) {
	s := newSession()
	for i := range 1000 {
		require.Equal(t, "+OK\r\n", do(s, "SET", "key:"+itoa(i), "v"))
	}
	runSteps(t, s, []step{
		c("DBSIZE", ":1000\r\n"),
		c("DBSIZE x", "-ERR wrong number of arguments for 'dbsize' command\r\n"),
		c("FLUSHALL BAD", "-ERR syntax error\r\n"),
		c("FLUSHALL", "+OK\r\n"),
		c("DBSIZE", ":0\r\n"),
		c("SET a b", "+OK\r\n"),
		c("FLUSHALL ASYNC", "+OK\r\n"),
		c("GET a", "$-1\r\n"),
	})
}

func TestCommandAndConfigAnswerClients(t *testing.T) {
	runSteps(t, newSession(), []step{
		c("COMMAND", "*0\r\n"),
		c("COMMAND DOCS", "*0\r\n"),
		c("COMMAND DOCS get set", "*0\r\n"),
		c("COMMAND COUNT", ":"+itoa(len(commands))+"\r\n"),
		c("COMMAND INFO get", "*1\r\n*-1\r\n"),
		c("COMMAND NOPE", "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n"),
		c("CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"),
		c("CONFIG GET APPENDONLY", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"),
		c("CONFIG GET save appendonly", "*4\r\n$10\r\nappendonly\r\n$2\r\nno\r\n$4\r\nsave\r\n$0\r\n\r\n"),
		c("CONFIG GET *", "*4\r\n$10\r\nappendonly\r\n$2\r\nno\r\n$4\r\nsave\r\n$0\r\n\r\n"),
		c("CONFIG GET maxmemory", "*0\r\n"),
		c("CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n"),
		c("CONFIG SET save x", "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n"),
		c("CONFIG", "-ERR wrong number of arguments for 'config' command\r\n"),
	})
}

func TestUnknownCommandIsAnErrorAndTheSessionGoesOn(t *testing.T) {
	s := newSession()
	require.Equal(t, "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n", do(s, "FOO", "a", "b"))
	require.Equal(t, "-ERR unknown command 'x  y', with args beginning with: \r\n", do(s, "x\r\ny"))
	require.Equal(t, "-ERR unknown command '"+strings.Repeat("z", 128)+"', with args beginning with: \r\n",
		do(s, strings.Repeat("z", 500)))
	require.Equal(t, "+PONG\r\n", do(s, "PING"))
}

func TestQuitRepliesOKAndEndsTheBatch(t *testing.T) {
	s := newSession()
	var d decoder
	feed(&d, []byte("SET a 1\r\nQUIT\r\nSET b 2\r\n"))
	out, end := s.serveBatch(&d, nil, t0)
	require.Equal(t, batchClose, end)
	require.Equal(t, "+OK\r\n+OK\r\n", string(out))
	require.Equal(t, "$-1\r\n", do(s, "GET", "b"), "nothing after QUIT runs")
}

func TestBatchEndsWithTheProtocolErrorAfterEarlierReplies(t *testing.T) {
	s := newSession()
	var d decoder
	feed(&d, []byte("PING\r\n*1\r\n$3\r\nGET\r\n*1\r\n$-7\r\n"))
	out, end := s.serveBatch(&d, nil, t0)
	require.Equal(t, batchClose, end)
	require.Equal(t, "+PONG\r\n-ERR wrong number of arguments for 'get' command\r\n-ERR Protocol error: invalid bulk length\r\n", string(out))
}

func TestBatchStopsAtTheReplyLimit(t *testing.T) {
	s := newSession()
	require.Equal(t, "+OK\r\n", do(s, "SET", "big", strings.Repeat("x", 300<<10)))
	var d decoder
	feed(&d, []byte(strings.Repeat("GET big\r\n", 10)))
	var replies int
	for round := 0; ; round++ {
		out, end := s.serveBatch(&d, nil, t0)
		require.LessOrEqual(t, len(out), batchLimit+300<<10+16, "round %d", round)
		replies += strings.Count(string(out), "$307200\r\n")
		if end == batchNeedRead {
			break
		}
		require.Equal(t, batchFull, end)
	}
	require.Equal(t, 10, replies)
}

func TestSweepDeletesExpiredKeysNobodyAsksFor(t *testing.T) {
	s := newSession()
	for i := range 2000 {
		require.Equal(t, "+OK\r\n", do(s, "SET", "tmp:"+itoa(i), "v", "PX", "100"))
	}
	for i := range 500 {
		require.Equal(t, "+OK\r\n", do(s, "SET", "keep:"+itoa(i), "v"))
	}
	require.Zero(t, s.db.sweep(t0, sweepPerShard), "nothing has expired yet")
	later := t0 + int64(100*time.Millisecond)
	removed := 0
	for range 100 {
		removed += s.db.sweep(later, 8) // a small budget: several rounds needed
		if removed == 2000 {
			break
		}
	}
	require.Equal(t, 2000, removed)
	require.Equal(t, ":500\r\n", do(s, "DBSIZE"))
	for i := range s.db.shards {
		require.Zero(t, s.db.shards[i].volatile, "shard %d", i)
	}
}

func TestCommandsOnExistingKeysDoNotAllocate(t *testing.T) {
	s := newSession()
	do(s, "SET", "key", "value")
	do(s, "SET", "n", "1")
	do(s, "MSET", "a", "1", "b", "2")
	cmds := [][][]byte{
		{[]byte("GET"), []byte("key")},
		{[]byte("set"), []byte("key"), []byte("other")},
		{[]byte("PING")},
		{[]byte("INCR"), []byte("n")},
		{[]byte("EXISTS"), []byte("key"), []byte("missing")},
		{[]byte("MGET"), []byte("a"), []byte("b")},
		{[]byte("MSET"), []byte("a"), []byte("3"), []byte("b"), []byte("4")},
		{[]byte("TTL"), []byte("key")},
	}
	out := make([]byte, 0, 4096)
	for _, cmd := range cmds {
		allocs := testing.AllocsPerRun(100, func() { out = s.execute(out[:0], cmd) })
		require.Zero(t, allocs, "%s", cmd[0])
	}
}

// Connections run on several workers: the store must hold under the race
// detector, and multi-key commands must be atomic.
func TestStoreUnderConcurrentClients(t *testing.T) {
	db := newStore()
	const clients, rounds = 8, 500
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			s := &session{db: db, now: t0}
			for r := range rounds {
				do(s, "INCR", "counter")
				do(s, "MSET", "x", itoa(r), "y", itoa(r))
				reply := do(s, "MGET", "x", "y")
				// x and y are always set together, so MGET sees them equal.
				parts := strings.Split(reply, "\r\n")
				if parts[2] != parts[4] {
					t.Errorf("client %d: MGET saw x=%s y=%s", i, parts[2], parts[4])
					return
				}
				do(s, "SET", "k:"+itoa(i)+":"+itoa(r), "v", "PX", "1")
				do(s, "DEL", "k:"+itoa(i)+":"+itoa(r-1))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			db.sweep(t0+int64(time.Second), sweepPerShard)
		}
	})
	wg.Wait()
	want := itoa(clients * rounds)
	require.Equal(t, "$"+itoa(len(want))+"\r\n"+want+"\r\n", do(&session{db: db, now: t0}, "GET", "counter"))
}

func BenchmarkExecuteGet(b *testing.B) {
	s := newSession()
	do(s, "SET", "key:000000001", "xxx")
	cmd := [][]byte{[]byte("GET"), []byte("key:000000001")}
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.execute(out[:0], cmd)
	}
}

// BenchmarkExecuteGetGoMap is the Go-native alternative: one map behind one
// mutex, the value copied out as a bulk string.
func BenchmarkExecuteGetGoMap(b *testing.B) {
	var mu sync.Mutex
	m := map[string][]byte{"key:000000001": []byte("xxx")}
	key := []byte("key:000000001")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		out = appendBulk(out[:0], m[string(key)])
		mu.Unlock()
	}
}
