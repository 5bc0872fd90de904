package main

// Process tests: the example is built once and run as its own process on
// a free port, in both styles (metal, and -std), and driven the way a user
// would: redis-cli, redis-benchmark, nc, and raw sockets.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
)

// modes are the two server styles, by the flags that select them.
var modes = []struct {
	name  string
	flags []string
}{
	{"metal", nil},
	{"std", []string{"-std"}},
}

// server is the kv binary, built on first use: the unit tests and the
// fuzz workers never need it.
var server = testutil.NewExample("kv")

// TestMain runs the tests, then removes the binary if one was built.
func TestMain(m *testing.M) { server.TestMain(m) }

// forEachMode runs test as a subtest against a fresh server of each style.
func forEachMode(t *testing.T, test func(t *testing.T, addr string, cmd *exec.Cmd)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr, cmd := server.Start(t, m.flags...)
			test(t, addr, cmd)
		})
	}
}

func TestRedisCLI(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli", "redis-tools")
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		host, port := testutil.HostPort(t, addr)
		run := func(args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// --no-raw: the formatted output, which shows each reply's type.
			out, err := exec.CommandContext(ctx, cli, append([]string{"-h", host, "-p", port, "--no-raw"}, args...)...).Output()
			return strings.TrimRight(string(out), "\n"), err
		}
		type step struct{ cmd, want string }
		check := func(steps ...step) {
			t.Helper()
			for _, tc := range steps {
				got, err := run(strings.Fields(tc.cmd)...)
				require.NoError(t, err, tc.cmd)
				require.Equal(t, tc.want, got, tc.cmd)
			}
		}
		check(
			step{"PING", "PONG"},
			step{"ECHO hello", `"hello"`},
			step{"SET greeting hello", "OK"},
			step{"GET greeting", `"hello"`},
			step{"GET missing", "(nil)"},
			step{"SET n 41", "OK"},
			step{"INCR n", "(integer) 42"},
			step{"MSET a 1 b 2", "OK"},
			step{"MGET a missing b", "1) \"1\"\n2) (nil)\n3) \"2\""},
			step{"EXISTS a b missing a", "(integer) 3"},
			step{"EXPIRE a 1000", "(integer) 1"},
		)
		// Seconds pass between the two commands on a loaded machine.
		got, err := run("TTL", "a")
		require.NoError(t, err)
		ttl, err := strconv.Atoi(strings.TrimPrefix(got, "(integer) "))
		require.NoError(t, err, got)
		require.InDelta(t, 995, ttl, 5, "TTL a")
		check(
			step{"TTL b", "(integer) -1"},
			step{"TTL missing", "(integer) -2"},
			step{"DBSIZE", "(integer) 4"},
			step{"DEL a b missing", "(integer) 2"},
			step{"DBSIZE", "(integer) 2"},
			step{"FLUSHALL", "OK"},
			step{"DBSIZE", "(integer) 0"},
		)
		// An error reply: redis-cli shows it (and exits non-zero, as it does
		// against Redis); the server goes on.
		got, _ = run("NOSUCH", "x")
		require.Equal(t, "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' ", got)
		got, _ = run("GET")
		require.Equal(t, "(error) ERR wrong number of arguments for 'get' command", got)
		got, err = run("PING")
		require.NoError(t, err)
		require.Equal(t, "PONG", got)
	})
}

// benchLine is one test's summary in redis-benchmark -q output, e.g.
// "SET: 123456.79 requests per second, p50=0.199 msec".
var benchLine = regexp.MustCompile(`^\s*([A-Z_]+): ([0-9.]+) requests per second`)

func TestRedisBenchmark(t *testing.T) {
	bench := testutil.RequireTool(t, "redis-benchmark", "redis-tools")
	cli := testutil.RequireTool(t, "redis-cli", "redis-tools")
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		host, port := testutil.HostPort(t, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bench, "-h", host, "-p", port,
			"-t", "ping,set,get", "-n", "5000", "-P", "16", "-c", "20", "-q").CombinedOutput()
		require.NoError(t, err, "%s", out)

		rps := map[string]float64{}
		// Progress lines end in CR, summaries in LF.
		for _, line := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if m := benchLine.FindStringSubmatch(line); m != nil {
				v, err := strconv.ParseFloat(m[2], 64)
				require.NoError(t, err, line)
				rps[m[1]] = v
			}
		}
		for _, test := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET"} {
			require.Greater(t, rps[test], 0.0, "%s in:\n%s", test, out)
		}
		require.Len(t, rps, 4, "%s", out)

		// The SETs landed: redis-benchmark's key, with a value of its default
		// size, 3 bytes (random letters).
		got, err := exec.CommandContext(ctx, cli, "-h", host, "-p", port, "STRLEN", "key:__rand_int__").Output()
		require.NoError(t, err)
		require.Equal(t, "3\n", string(got))
	})
}

func TestNetcatInlineCommands(t *testing.T) {
	nc := testutil.RequireTool(t, "nc", "netcat-openbsd")
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		host, port := testutil.HostPort(t, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// -N: shut down the writing half at end of input; the server answers
		// everything, sees end of stream and closes, and nc exits.
		cmd := exec.CommandContext(ctx, nc, "-N", host, port)
		cmd.Stdin = strings.NewReader("PING\r\nSET a hello\nGET a\r\nNOPE\r\n")
		out, err := cmd.Output()
		require.NoError(t, err)
		require.Equal(t, "+PONG\r\n+OK\r\n$5\r\nhello\r\n-ERR unknown command 'NOPE', with args beginning with: \r\n", string(out))
	})
}

// dial connects to addr with a deadline on everything that follows.
func dial(t *testing.T, addr string) *stdnet.TCPConn {
	t.Helper()
	return testutil.DialTCP(t, addr, 5*time.Second, 20*time.Second)
}

// readToClose reads until the server closes the connection and returns
// what it sent. A close with bytes of ours still unread is a reset rather
// than an end of stream; both are the close the test waits for.
func readToClose(t *testing.T, c stdnet.Conn) string {
	t.Helper()
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading to the close: %v (got %q)", err, got.String())
	}
	return got.String()
}

func TestMalformedRequestGetsAProtocolErrorAndTheConnectionCloses(t *testing.T) {
	cases := []struct{ name, send, want string }{
		{"negative bulk length", "PING\r\n*1\r\n$-5\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
		{"bad type byte", "*1\r\n:3\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"bulk as a command", "$4\r\nPING\r\n", "-ERR Protocol error: unexpected '$' at the start of a command\r\n"},
		{"bad array length", "*2x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"missing CRLF", "*1\r\n$4\r\nPINGPONG", "-ERR Protocol error: expected CRLF after bulk string\r\n"},
		{"bulk too large", "*1\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"array too large", "*2000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"inline too long", strings.Repeat("x", maxInlineLen+1), "-ERR Protocol error: too big inline request\r\n"},
	}
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		for _, tc := range cases {
			c := dial(t, addr)
			_, err := c.Write([]byte(tc.send))
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.want, readToClose(t, c), tc.name)
		}
		// The server is fine.
		c := dial(t, addr)
		_, err := c.Write([]byte("PING\r\n"))
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "+PONG\r\n", line)
	})
}

func TestQuitRepliesAndCloses(t *testing.T) {
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		c := dial(t, addr)
		_, err := c.Write([]byte(multibulk("SET", "k", "v") + "QUIT\r\n" + multibulk("SET", "k", "after")))
		require.NoError(t, err)
		require.Equal(t, "+OK\r\n+OK\r\n", readToClose(t, c))
		c = dial(t, addr)
		_, err = c.Write([]byte("GET k\r\n"))
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "$1\r\n", line, "the command after QUIT did not run")
	})
}

// Pipelining clients on several connections at once: every reply arrives,
// in order, and INCR from all of them adds up.
func TestConcurrentPipeliningClients(t *testing.T) {
	forEachMode(t, func(t *testing.T, addr string, _ *exec.Cmd) {
		const clients, depth, rounds = 32, 64, 10
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := range clients {
			c := dial(t, addr)
			wg.Go(func() {
				r := bufio.NewReader(c)
				var batch bytes.Buffer
				for round := range rounds {
					batch.Reset()
					for j := range depth {
						batch.WriteString(multibulk("INCR", "counter"))
						batch.WriteString(multibulk("ECHO", fmt.Sprintf("%d.%d.%d", i, round, j)))
					}
					if _, err := c.Write(batch.Bytes()); err != nil {
						errs <- err
						return
					}
					for j := range depth {
						if line, err := r.ReadString('\n'); err != nil || line[0] != ':' {
							errs <- fmt.Errorf("client %d: INCR reply %q, %v", i, line, err)
							return
						}
						want := fmt.Sprintf("%d.%d.%d", i, round, j)
						if _, err := r.ReadString('\n'); err != nil {
							errs <- err
							return
						}
						if line, err := r.ReadString('\n'); err != nil || line != want+"\r\n" {
							errs <- fmt.Errorf("client %d: ECHO reply %q, want %q (%v)", i, line, want, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		c := dial(t, addr)
		_, err := c.Write([]byte("GET counter\r\n"))
		require.NoError(t, err)
		r := bufio.NewReader(c)
		_, err = r.ReadString('\n')
		require.NoError(t, err)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(clients*depth*rounds)+"\r\n", line)
	})
}

// rssBytes returns the resident memory of process pid, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// A client pipelines GETs of a 1 MiB value, 200 MiB of replies, and never
// reads them: the server stops reading it once the kernel takes no more of
// its replies, holds a bounded amount for it (not 200 MiB), and serves
// another client meanwhile. The slow client gets every reply once it reads.
func TestClientThatNeverReadsDoesNotStallOthers(t *testing.T) {
	forEachMode(t, func(t *testing.T, addr string, cmd *exec.Cmd) {
		const gets = 200
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		setup := dial(t, addr)
		_, err := setup.Write([]byte(multibulk("SET", "big", string(big))))
		require.NoError(t, err)
		line, err := bufio.NewReader(setup).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "+OK\r\n", line)

		slow := dial(t, addr)
		_, err = slow.Write(bytes.Repeat([]byte("GET big\r\n"), gets))
		require.NoError(t, err)
		// The first reply's header: the server has the GETs and is writing.
		sr := bufio.NewReaderSize(slow, 64<<10)
		head, err := sr.Peek(len("$1048576\r\n"))
		require.NoError(t, err)
		require.Equal(t, "$1048576\r\n", string(head))

		fast := dial(t, addr)
		fr := bufio.NewReader(fast)
		for i := range 100 {
			_, err := fast.Write([]byte(multibulk("SET", "k", strconv.Itoa(i)) + "GET k\r\nPING\r\n"))
			require.NoError(t, err)
			for _, want := range []string{"+OK\r\n", "$" + strconv.Itoa(len(strconv.Itoa(i))) + "\r\n", strconv.Itoa(i) + "\r\n", "+PONG\r\n"} {
				line, err := fr.ReadString('\n')
				require.NoError(t, err, "round %d", i)
				require.Equal(t, want, line, "round %d", i)
			}
		}

		// Bounded: far less than the 200 MiB of replies still owed.
		rss := rssBytes(t, cmd.Process.Pid)
		require.Less(t, rss, int64(64<<20), "server RSS %d MiB while a client does not read", rss>>20)

		for i := range gets {
			line, err := sr.ReadString('\n')
			require.NoError(t, err, "reply %d", i)
			require.Equal(t, "$1048576\r\n", line, "reply %d", i)
			_, err = io.CopyN(io.Discard, sr, int64(len(big)+2))
			require.NoError(t, err, "reply %d", i)
		}
	})
}

// openSockets returns how many sockets process pid has open, from /proc,
// or -1 without /proc. (Other descriptors come and go: Go's runtime opens
// its own epoll instance the first time a timer is used.)
func openSockets(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && strings.HasPrefix(link, "socket:") {
			n++
		}
	}
	return n
}

// Clients that leave while the server still owes them replies (it is
// blocked writing to them): the failed write ends each connection and its
// descriptor is closed, and the server goes on serving.
func TestClientThatLeavesMidReplyIsReleased(t *testing.T) {
	forEachMode(t, func(t *testing.T, addr string, cmd *exec.Cmd) {
		pid := cmd.Process.Pid
		n := openSockets(pid)
		if n < 0 {
			t.Skip("no /proc to count sockets in")
		}
		require.Equal(t, 1, n, "the listener")
		setup := dial(t, addr)
		r := bufio.NewReader(setup)
		_, err := setup.Write([]byte(multibulk("SET", "big", strings.Repeat("x", 1<<20))))
		require.NoError(t, err)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "+OK\r\n", line)

		for range 10 {
			c := dial(t, addr)
			_, err := c.Write(bytes.Repeat([]byte("GET big\r\n"), 100))
			require.NoError(t, err)
			_, err = io.ReadFull(c, make([]byte, 10)) // the server is writing
			require.NoError(t, err)
			require.NoError(t, c.Close())
		}
		// Nothing tells a client when the server has closed its end, so
		// watch the server's sockets: the listener and the setup
		// connection's are left.
		require.Eventually(t, func() bool { return openSockets(pid) == 2 }, 10*time.Second, 5*time.Millisecond,
			"the server has %d sockets open, want 2", openSockets(pid))

		_, err = setup.Write([]byte("PING\r\n"))
		require.NoError(t, err)
		line, err = r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "+PONG\r\n", line)
	})
}

func TestStopsCleanlyOnSignal(t *testing.T) {
	for _, m := range modes {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(m.name+"/"+sig.String(), func(t *testing.T) {
				addr, cmd := server.Start(t, m.flags...)
				c := dial(t, addr)
				// A served connection, so there is one to close on the way out.
				_, err := c.Write([]byte("PING\r\n"))
				require.NoError(t, err)
				r := bufio.NewReader(c)
				line, err := r.ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, "+PONG\r\n", line)

				testutil.StopWithSignal(t, cmd, sig)
				_, err = r.ReadByte()
				require.ErrorIs(t, err, io.EOF, "the connection was closed")
			})
		}
	}
}
