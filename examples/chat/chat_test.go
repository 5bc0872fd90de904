//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
)

// lineTimeout bounds every wait for a line; a passing test never comes
// near it.
const lineTimeout = 10 * time.Second

// server is the chat binary, built on first use: the unit tests and the
// fuzz workers never need it.
var server = testutil.NewExample("chat")

// TestMain runs the tests, then removes the binary if one was built.
func TestMain(m *testing.M) { server.TestMain(m) }

// lineReader delivers the lines of r on a channel, closed at end of
// stream, so tests can wait for a line with a timeout.
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				ch <- strings.TrimSuffix(l, "\n")
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// peer is one chat participant seen from the test: an nc process, or a
// raw socket.
type peer struct {
	name  string
	in    io.WriteCloser
	lines <-chan string
	wait  func() error // the nc process's exit, nil for a raw socket
	conn  stdnet.Conn  // the raw socket, nil for nc
}

// dialNetcat connects an nc client whose stdin stays open until closed.
// -N: closing stdin shuts down the sending half, as a user's ^D.
func dialNetcat(t *testing.T, nc, addr, name string) *peer {
	t.Helper()
	host, port := testutil.HostPort(t, addr)
	cmd := exec.Command(nc, "-N", host, port)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &peer{name: name, in: in, lines: lineReader(out), wait: cmd.Wait}
}

// dialRaw connects a plain socket.
func dialRaw(t *testing.T, addr, name string) *peer {
	t.Helper()
	c := testutil.DialTCP(t, addr, lineTimeout, 0)
	return &peer{name: name, in: c, lines: lineReader(c), conn: c}
}

// send writes lines, each followed by a newline.
func (c *peer) send(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		_, err := io.WriteString(c.in, l+"\n")
		require.NoError(t, err, "%s: send %q", c.name, l)
	}
}

// next returns the next line the client received.
func (c *peer) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		require.True(t, ok, "%s: connection ended while a line was expected", c.name)
		return l
	case <-time.After(lineTimeout):
		t.Fatalf("%s: no line within %v", c.name, lineTimeout)
		return ""
	}
}

// expect checks that the next lines are want, in order.
func (c *peer) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		require.Equal(t, w, c.next(t), "%s", c.name)
	}
}

// expectEnd checks that the server ends the connection after the lines
// the client has not read yet, which must be want.
func (c *peer) expectEnd(t *testing.T, want ...string) {
	t.Helper()
	c.expect(t, want...)
	select {
	case l, ok := <-c.lines:
		require.False(t, ok, "%s: unexpected line %q", c.name, l)
	case <-time.After(lineTimeout):
		t.Fatalf("%s: connection not closed within %v", c.name, lineTimeout)
	}
}

// join chooses nick and checks the welcome, which lists online.
func (c *peer) join(t *testing.T, online string) {
	t.Helper()
	c.expect(t, strings.TrimSuffix(msgPrompt, "\n"))
	c.send(t, c.name)
	c.expect(t, "* joined as "+c.name, "* online: "+online)
}

// Three nc clients join, talk, rename and leave: each sees the others'
// lines, never its own, and every join, rename and leave.
func TestChatNetcatClientsJoinChatAndLeave(t *testing.T) {
	nc := testutil.RequireTool(t, "nc", "netcat-openbsd")
	addr, _ := server.Start(t)

	alice := dialNetcat(t, nc, addr, "alice")
	alice.join(t, "alice")
	bob := dialNetcat(t, nc, addr, "bob")
	bob.join(t, "alice bob")
	alice.expect(t, "* bob joined")
	carol := dialNetcat(t, nc, addr, "carol")
	carol.join(t, "alice bob carol")
	alice.expect(t, "* carol joined")
	bob.expect(t, "* carol joined")

	alice.send(t, "hello, both of you")
	bob.expect(t, "<alice> hello, both of you")
	carol.expect(t, "<alice> hello, both of you")
	bob.send(t, "hi alice", "/who")
	bob.expect(t, "* online: alice bob carol")
	alice.expect(t, "<bob> hi alice") // and not her own line before it
	carol.expect(t, "<bob> hi alice")

	carol.send(t, "/nick caz", "renamed")
	carol.expect(t, "* you are now caz")
	alice.expect(t, "* carol is now caz", "<caz> renamed")
	bob.expect(t, "* carol is now caz", "<caz> renamed")

	// /quit: a goodbye, and the server shuts its side. (nc itself stays
	// until its input ends too, as it does for any server.)
	bob.send(t, "/quit")
	bob.expect(t, "* bye")
	require.NoError(t, bob.in.Close())
	bob.expectEnd(t)
	require.NoError(t, bob.wait())
	alice.expect(t, "* bob left")
	carol.expect(t, "* bob left")

	// End of input (nc -N shuts down its sending half): a leave too.
	require.NoError(t, carol.in.Close())
	carol.expectEnd(t)
	require.NoError(t, carol.wait())
	alice.expect(t, "* caz left")

	alice.send(t, "/who")
	alice.expect(t, "* online: alice")
}

// Refused nicks are asked again; over-long and control-character lines
// get an error and are not forwarded, and the client stays.
func TestChatRefusesBadNicksAndLinesButKeepsTheClient(t *testing.T) {
	addr, _ := server.Start(t)
	alice := dialRaw(t, addr, "alice")
	alice.join(t, "alice")
	bob := dialRaw(t, addr, "bob")
	bob.expect(t, strings.TrimSuffix(msgPrompt, "\n"))
	bob.send(t, "no spaces please")
	bob.expect(t, strings.TrimSuffix(msgBadNick, "\n"), strings.TrimSuffix(msgAskAgain, "\n"))
	bob.send(t, "Alice")
	bob.expect(t, strings.TrimSuffix(msgNickTaken, "\n"), strings.TrimSuffix(msgAskAgain, "\n"))
	bob.send(t, "bob")
	bob.expect(t, "* joined as bob", "* online: alice bob")
	alice.expect(t, "* bob joined")

	bob.send(t, strings.Repeat("x", 100_000), "bell\a", "still here")
	bob.expect(t, strings.TrimSuffix(msgTooLong, "\n"), strings.TrimSuffix(msgBadLine, "\n"))
	alice.expect(t, "<bob> still here")

	// /quit: a goodbye, then the server shuts its side at once.
	bob.send(t, "/quit")
	bob.expectEnd(t, "* bye")
	alice.expect(t, "* bob left")
}

// A client that stops reading must not hold up anyone else: its outbox
// fills, it is disconnected, and the others' lines keep flowing.
func TestChatClientThatNeverReadsIsDroppedWithoutDelayingOthers(t *testing.T) {
	addr, _ := server.Start(t)
	// A small receive buffer, set before connecting so the window is
	// small from the start: the server's sends to it back up sooner.
	d := stdnet.Dialer{Timeout: lineTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	slowConn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	defer slowConn.Close()
	slowReader := bufio.NewReader(slowConn)
	readLine := func() string {
		require.NoError(t, slowConn.SetReadDeadline(time.Now().Add(lineTimeout)))
		l, err := slowReader.ReadString('\n')
		require.NoError(t, err)
		return strings.TrimSuffix(l, "\n")
	}
	require.Equal(t, strings.TrimSuffix(msgPrompt, "\n"), readLine())
	_, err = io.WriteString(slowConn, "slow\n")
	require.NoError(t, err)
	require.Equal(t, "* joined as slow", readLine())
	require.Equal(t, "* online: slow", readLine())
	// From here on, slow reads nothing.

	talker := dialRaw(t, addr, "talker")
	talker.join(t, "slow talker")
	listener := dialRaw(t, addr, "listener")
	listener.join(t, "listener slow talker")
	talker.expect(t, "* listener joined")

	// The talker sends batches; the listener must get each batch within a
	// bound while the slow client's share piles up at the server.
	const (
		batch    = 64
		maxDelay = 3 * time.Second
	)
	text := strings.Repeat("z", 1000)
	var worst time.Duration
	dropped := false
	for b := 0; b < 400 && !dropped; b++ { // 400 batches = 25 MiB for slow: far past any buffer
		start := time.Now()
		var msg strings.Builder
		for i := range batch {
			fmt.Fprintf(&msg, "%d.%d %s\n", b, i, text)
		}
		_, err := io.WriteString(talker.in, msg.String())
		require.NoError(t, err)
		for i := 0; i < batch; {
			l := listener.next(t)
			if l == "* slow left (too slow)" {
				dropped = true
				continue
			}
			require.Equal(t, fmt.Sprintf("<talker> %d.%d %s", b, i, text), l)
			i++
		}
		worst = max(worst, time.Since(start))
		require.Less(t, time.Since(start), maxDelay, "batch %d took too long to reach the listener", b)
	}
	require.True(t, dropped, "the client that never reads was not disconnected")
	t.Logf("slowest batch of %d lines: %v", batch, worst)

	// The talker heard it too, and the room goes on without slow.
	talker.expect(t, "* slow left (too slow)")
	talker.send(t, "/who")
	talker.expect(t, "* online: listener talker")

	// slow finds its connection closed once it reads what reached it.
	require.NoError(t, slowConn.SetReadDeadline(time.Now().Add(lineTimeout)))
	_, err = io.Copy(io.Discard, slowReader)
	if err != nil {
		require.ErrorIs(t, err, syscall.ECONNRESET) // closed with data unread: a reset
	}
}

// Clients that vanish, by a reset or by closing without /quit, are
// announced as gone, and lines sent their way afterwards do no harm.
func TestChatVanishingClientsAreAnnounced(t *testing.T) {
	addr, _ := server.Start(t)
	alice := dialRaw(t, addr, "alice")
	alice.join(t, "alice")

	ghost := dialRaw(t, addr, "ghost")
	ghost.join(t, "alice ghost")
	alice.expect(t, "* ghost joined")
	// Half a line typed, then the connection is reset.
	_, err := io.WriteString(ghost.conn, "half a li")
	require.NoError(t, err)
	require.NoError(t, ghost.conn.(*stdnet.TCPConn).SetLinger(0))
	require.NoError(t, ghost.conn.Close())
	alice.expect(t, "* ghost left")

	quiet := dialRaw(t, addr, "quiet")
	quiet.join(t, "alice quiet")
	alice.expect(t, "* quiet joined")
	require.NoError(t, quiet.conn.Close())
	alice.expect(t, "* quiet left")

	// Someone who disconnects before choosing a nick is never announced.
	shy := dialRaw(t, addr, "shy")
	shy.expect(t, strings.TrimSuffix(msgPrompt, "\n"))
	require.NoError(t, shy.conn.Close())

	alice.send(t, "anyone?", "/who")
	alice.expect(t, "* online: alice")
}

// SIGTERM and SIGINT end the server with status 0, closing every
// connection, joined or not.
func TestChatStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		addr, cmd := server.Start(t)
		c := dialRaw(t, addr, "alice")
		c.join(t, "alice")
		idle := dialRaw(t, addr, "idle") // connected, no nick yet
		idle.expect(t, strings.TrimSuffix(msgPrompt, "\n"))

		testutil.StopWithSignal(t, cmd, sig)
		// Its connections were closed on the way out.
		c.expectEnd(t)
		idle.expectEnd(t)
	}
}
