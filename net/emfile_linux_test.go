//go:build linux

package net_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// These tests run a Listener out of descriptors for real: EMFILE comes from
// the kernel, in a child process (the test binary run again, the test
// function playing the child's part when faultChildEnv says so) whose
// RLIMIT_NOFILE the test lowers, so that the parent's descriptors and the
// other tests are untouched.

// faultChildEnv names the part a child process plays.
const faultChildEnv = "METAL_NET_FAULT_CHILD"

// childTimeout bounds a child process.
const childTimeout = 90 * time.Second

// childRole is the part this process plays ("" in the parent).
func childRole() string { return os.Getenv(faultChildEnv) }

// lockedBuffer is a bytes.Buffer a child's output goes to while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startChild runs the calling test again in a child process playing role,
// with files as its descriptors 3, 4, ... It is killed when the test ends
// if it is still running.
func startChild(t *testing.T, role string, files ...*os.File) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1",
		"-test.timeout="+childTimeout.String())
	cmd.Env = append(os.Environ(), faultChildEnv+"="+role)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = files
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// waitChild waits for the child to exit and fails the test, with the
// child's output, unless it exited with status 0 (its test passed, it did
// not crash). It logs the lines the child marked "figure:".
func waitChild(t *testing.T, cmd *exec.Cmd, out *lockedBuffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(childTimeout + 10*time.Second):
		_ = cmd.Process.Kill()
		err = <-done
		err = fmt.Errorf("still running after %v: %w", childTimeout, err)
	}
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "\nPASS") {
		t.Fatalf("the child ran no passing test:\n%s", out.String())
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		if _, fig, ok := strings.Cut(line, "figure: "); ok {
			t.Log(fig)
		}
	}
}

// runChild runs the calling test's child part to the end (see waitChild).
func runChild(t *testing.T, role string) {
	t.Helper()
	cmd, out := startChild(t, role)
	waitChild(t, cmd, out)
}

// fillDescriptors is for a child: it lowers RLIMIT_NOFILE a little above
// the highest descriptor in use and opens duplicates of /dev/null until
// the kernel refuses (EMFILE), so that nothing more can be opened. It
// returns the duplicates; closing k of them lets k descriptors be opened.
func fillDescriptors(t *testing.T) []int {
	t.Helper()
	// Go's own poller opens its epoll descriptor on first use: use it now.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	r.Close()
	w.Close()

	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	highest := 0
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			highest = max(highest, fd)
		}
	}
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	lim.Cur = min(uint64(highest)+1+64, lim.Max)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))

	null, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	require.NoError(t, err)
	fill := []int{null}
	for {
		fd, err := syscall.Dup(null)
		if errors.Is(err, syscall.EMFILE) {
			return fill
		}
		require.NoError(t, err)
		fill = append(fill, fd)
	}
}

// closeFds closes descriptors of fillDescriptors'.
func closeFds(t *testing.T, fds []int) {
	t.Helper()
	for _, fd := range fds {
		require.NoError(t, syscall.Close(fd))
	}
}

// rawClients opens n TCP sockets, not yet connected, so that a child can
// connect them once its descriptors are gone.
func rawClients(t *testing.T, n int) []int {
	t.Helper()
	fds := make([]int, n)
	for i := range fds {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		fds[i] = fd
		t.Cleanup(func() { syscall.Close(fd) })
	}
	return fds
}

// connectRaw connects fd, a socket of rawClients', to the IPv4 listener at
// addr. The kernel completes the handshake whether or not the listener
// can accept.
func connectRaw(t *testing.T, fd int, addr netip.AddrPort) {
	t.Helper()
	require.NoError(t, syscall.Connect(fd, &syscall.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}))
}

// acceptInto spawns an accept loop on l that sends each connection to
// conns; it ends with the listener's error.
func acceptInto(rt *runtime.Runtime, l *metalnet.Listener, conns chan<- *metalnet.Conn) *task.JoinHandle[error] {
	af := l.AcceptAsync()
	return runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := af.Poll(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			select {
			case conns <- res.Value:
			default:
				res.Value.Close()
				return errors.New("more connections than the test expects"), true
			}
		}
	})))
}

// recvConn receives one connection l accepted, within EventTimeout.
func recvConn(t *testing.T, l *metalnet.Listener, conns <-chan *metalnet.Conn) *metalnet.Conn {
	t.Helper()
	select {
	case c := <-conns:
		return c
	case <-time.After(testutil.EventTimeout):
		t.Fatalf("no connection accepted (%d accepts failed, pause %v, unsure %t)",
			metalnet.AcceptExhaustions(l), metalnet.AcceptPause(l), metalnet.AcceptUnsure(l))
		return nil
	}
}

// waitTask waits for h's task to finish, within EventTimeout.
func waitTask[T any](t *testing.T, h *task.JoinHandle[T]) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := h.Wait()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(testutil.EventTimeout):
		t.Fatal("the task is still running")
		var zero T
		return zero, nil
	}
}

// requireStays checks that cond holds for the whole of QuietPeriod: what a
// test must not see happen has no signal to wait for.
func requireStays(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(testutil.QuietPeriod)
	for time.Now().Before(deadline) {
		require.True(t, cond(), msg)
		time.Sleep(time.Millisecond)
	}
}

// The pause after EMFILE starts at 5 ms and doubles to at most 1 s, no
// retry comes before it is over, a connection arriving during it does not
// cut it short, and once descriptors are free the retry accepts every
// waiting connection (though their readiness was consumed during the
// pause), resets the pause, and drains the backlog. The runtime's clock is
// paused, so every pause ends exactly when the test advances it.
func TestListenerBackoffDoublesFrom5msTo1sAndResetsOnSuccess(t *testing.T) {
	if childRole() != "schedule" {
		runChild(t, "schedule")
		return
	}
	rt := newRuntime(t, runtime.WithPausedClock())
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().(*stdnet.TCPAddr).AddrPort()
	clients := rawClients(t, 4)
	conns := make(chan *metalnet.Conn, 8)
	h := acceptInto(rt, l, conns)
	exhaustions := func() uint64 { return metalnet.AcceptExhaustions(l) }
	fill := fillDescriptors(t)

	connectRaw(t, clients[0], addr)
	waitUntil(t, func() bool { return exhaustions() == 1 })
	require.Equal(t, 5*time.Millisecond, metalnet.AcceptPause(l))
	for _, want := range []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000} {
		pause, n := metalnet.AcceptPause(l), exhaustions()
		require.NoError(t, rt.Advance(pause-time.Millisecond))
		requireStays(t, func() bool { return exhaustions() == n }, "a retry before the pause was over")
		require.NoError(t, rt.Advance(time.Millisecond))
		waitUntil(t, func() bool { return exhaustions() == n+1 })
		require.Equal(t, want*time.Millisecond, metalnet.AcceptPause(l), "the pause after %v", pause)
	}

	// A connection arriving during the pause wakes the task, which goes
	// back to its pause without trying.
	n := exhaustions()
	connectRaw(t, clients[1], addr)
	requireStays(t, func() bool { return exhaustions() == n }, "an arrival cut the pause short")

	// Two descriptors free: the retry takes both waiting connections, and
	// the next try, out of descriptors again, pauses 5 ms, not 1 s.
	closeFds(t, fill[:2])
	fill = fill[2:]
	require.NoError(t, rt.Advance(time.Second))
	c1, c2 := recvConn(t, l, conns), recvConn(t, l, conns)
	waitUntil(t, func() bool { return exhaustions() == n+1 })
	require.Equal(t, 5*time.Millisecond, metalnet.AcceptPause(l), "a success resets the pause")

	// Two more arrive during this pause, and three descriptors free up:
	// the retry accepts both without any readiness left to say they are
	// there, finds the backlog empty, and the listener is back to waiting
	// for readiness with no pause.
	connectRaw(t, clients[2], addr)
	connectRaw(t, clients[3], addr)
	require.NoError(t, c1.Close())
	require.NoError(t, c2.Close())
	closeFds(t, fill[:1])
	require.NoError(t, rt.Advance(5*time.Millisecond))
	c3, c4 := recvConn(t, l, conns), recvConn(t, l, conns)
	defer c3.Close()
	defer c4.Close()
	waitUntil(t, func() bool { return !metalnet.AcceptUnsure(l) })
	require.Zero(t, metalnet.AcceptPause(l))
	require.Equal(t, n+1, exhaustions(), "no failure once there was room")

	require.NoError(t, l.Close())
	res, err := waitTask(t, h)
	require.NoError(t, err)
	require.ErrorIs(t, res, stdnet.ErrClosed)
	t.Logf("figure: schedule 5ms..1s checked; %d exhausted accepts", exhaustions())
}

// A goroutine blocked in Accept pauses and retries too, on the wall clock,
// and returns the waiting connection once a descriptor is free.
func TestListenerAcceptInAGoroutineWaitsOutTheShortage(t *testing.T) {
	if childRole() != "goroutine" {
		runChild(t, "goroutine")
		return
	}
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	clients := rawClients(t, 1)
	fill := fillDescriptors(t)
	defer func() { closeFds(t, fill) }()
	done := acceptInBackground(l)
	connectRaw(t, clients[0], l.Addr().(*stdnet.TCPAddr).AddrPort())
	// Three failures: it paused 5, then 10 ms, and is in a pause of 20.
	waitUntil(t, func() bool { return metalnet.AcceptExhaustions(l) >= 3 })
	select {
	case a := <-done:
		t.Fatalf("Accept returned while out of descriptors: %v, %v", a.c, a.err)
	default:
	}
	closeFds(t, fill[:1])
	fill = fill[1:]
	select {
	case a := <-done:
		require.NoError(t, a.err)
		require.NoError(t, a.c.Close())
	case <-time.After(testutil.EventTimeout):
		t.Fatal("Accept still blocked with a descriptor free")
	}
	require.Zero(t, metalnet.AcceptPause(l), "a success resets the pause")
	t.Logf("figure: goroutine Accept returned after %d failed accepts", metalnet.AcceptExhaustions(l))
}

// Close ends a pause at once, for a task and for a goroutine in Accept;
// the next test does the same for a runtime shutdown. The runtime's clock
// is paused, so a task's pause never ends by itself; a goroutine's (1 s,
// on the wall clock) ends well after the test looks.
func TestListenerBackoffEndsAtOnceOnClose(t *testing.T) {
	if childRole() != "close" {
		runChild(t, "close")
		return
	}
	p := startPauses(t)
	// The goroutine first: its listener's descriptor, once closed, is one
	// the task cannot take, its pause never ending.
	began := p.nextGoPause(t)
	require.NoError(t, p.goL.Close())
	p.goEndsInPause(t, began, stdnet.ErrClosed)

	require.NoError(t, p.taskL.Close())
	res, err := waitTask(t, p.task)
	require.NoError(t, err)
	require.ErrorIs(t, res, stdnet.ErrClosed)
	require.Equal(t, uint64(1), metalnet.AcceptExhaustions(p.taskL), "the task retried with the clock stopped")
}

// A runtime shutdown ends a pause at once with runtime.ErrShutdown, for a
// task and for a goroutine in Accept (see the test before).
func TestListenerBackoffEndsAtOnceOnShutdown(t *testing.T) {
	if childRole() != "shutdown" {
		runChild(t, "shutdown")
		return
	}
	p := startPauses(t)
	began := p.nextGoPause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.rt.Shutdown(ctx))
	p.goEndsInPause(t, began, runtime.ErrShutdown)
	// The task was cancelled, or woken by the driver's shutdown first.
	res, err := waitTask(t, p.task)
	if err == nil {
		err = res
	}
	require.ErrorIs(t, err, runtime.ErrShutdown)
	require.Equal(t, uint64(1), metalnet.AcceptExhaustions(p.taskL), "the task retried with the clock stopped")
	require.NoError(t, p.taskL.Close())
	require.NoError(t, p.goL.Close())
}

// pauses is a child process out of descriptors with two listeners in a
// pause: taskL's accept loop task, on a runtime whose clock is paused,
// in its first pause (5 ms that never pass), and goL's goroutine, blocked
// in AcceptConn, in pauses of 1 s.
type pauses struct {
	rt           *runtime.Runtime
	taskL, goL   *metalnet.Listener
	task         *task.JoinHandle[error]
	goDone       chan error
	goReturnedAt time.Time // set before goDone receives
}

func startPauses(t *testing.T) *pauses {
	t.Helper()
	p := &pauses{rt: newRuntime(t, runtime.WithPausedClock()), goDone: make(chan error, 1)}
	var err error
	p.taskL, err = metalnet.ListenRuntime(p.rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.goL, err = metalnet.ListenRuntime(p.rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	clients := rawClients(t, 2)
	conns := make(chan *metalnet.Conn, 1)
	fill := fillDescriptors(t)
	t.Cleanup(func() { closeFds(t, fill) })

	// goL: a task takes the pause to 1 s, advancing the clock, and is
	// aborted; then a goroutine accepts.
	ramp := acceptInto(p.rt, p.goL, conns)
	connectRaw(t, clients[1], p.goL.Addr().(*stdnet.TCPAddr).AddrPort())
	waitUntil(t, func() bool { return metalnet.AcceptExhaustions(p.goL) == 1 })
	for metalnet.AcceptPause(p.goL) < time.Second {
		n := metalnet.AcceptExhaustions(p.goL)
		require.NoError(t, p.rt.Advance(metalnet.AcceptPause(p.goL)))
		waitUntil(t, func() bool { return metalnet.AcceptExhaustions(p.goL) > n })
	}
	ramp.Abort()
	_, err = waitTask(t, ramp)
	require.ErrorIs(t, err, task.ErrAborted)
	go func() {
		_, err := p.goL.AcceptConn()
		p.goReturnedAt = time.Now()
		p.goDone <- err
	}()

	// taskL: its first pause, and the clock stays where it is.
	p.task = acceptInto(p.rt, p.taskL, conns)
	connectRaw(t, clients[0], p.taskL.Addr().(*stdnet.TCPAddr).AddrPort())
	waitUntil(t, func() bool { return metalnet.AcceptExhaustions(p.taskL) == 1 })
	return p
}

// nextGoPause waits for goL's goroutine to start its next pause (of 1 s)
// and returns a time before that pause began.
func (p *pauses) nextGoPause(t *testing.T) time.Time {
	t.Helper()
	n := metalnet.AcceptExhaustions(p.goL)
	start := time.Now()
	before := start
	for metalnet.AcceptExhaustions(p.goL) == n {
		require.Less(t, time.Since(start), 10*time.Second, "the goroutine did not retry")
		before = time.Now()
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, time.Second, metalnet.AcceptPause(p.goL))
	return before
}

// goEndsInPause checks that goL's goroutine returned an error matching
// want before the pause that began after began was over.
func (p *pauses) goEndsInPause(t *testing.T, began time.Time, want error) {
	t.Helper()
	select {
	case err := <-p.goDone:
		require.ErrorIs(t, err, want)
		took := p.goReturnedAt.Sub(began)
		require.Less(t, took, time.Second, "Accept waited for its pause to end")
		t.Logf("figure: goroutine Accept in a 1s pause returned %v after it began: %v", took.Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still blocked")
	}
}

// A server whose accept loop is a task runs out of descriptors while a
// client (the parent process) keeps connecting: it does not spin (its CPU
// time over a second of exhaustion is a small part of that second), does
// not crash, keeps echoing on the connections it has, and once the client
// closes some of them accepts the waiting ones and echoes on them too.
func TestListenerOutOfDescriptorsBacksOffAndRecovers(t *testing.T) {
	if childRole() == "echo" {
		emfileEchoChild(t)
		return
	}
	const spare, extra, freed = 20, 8, 12

	ctlR, ctlW, err := os.Pipe() // parent -> child
	require.NoError(t, err)
	repR, repW, err := os.Pipe() // child -> parent
	require.NoError(t, err)
	cmd, out := startChild(t, "echo", ctlR, repW)
	ctlR.Close()
	repW.Close()
	defer ctlW.Close()
	defer repR.Close()
	reports := bufio.NewReader(repR)
	report := func() string {
		t.Helper()
		require.NoError(t, repR.SetReadDeadline(time.Now().Add(30*time.Second)))
		line, err := reports.ReadString('\n')
		require.NoError(t, err, "child output:\n%s", out.String())
		return strings.TrimSpace(line)
	}
	ask := func(cmd string) string {
		t.Helper()
		_, err := fmt.Fprintln(ctlW, cmd)
		require.NoError(t, err)
		return report()
	}

	var addr string
	var free int
	_, err = fmt.Sscanf(report(), "ready %s %d", &addr, &free)
	require.NoError(t, err)
	require.Equal(t, spare, free)

	roundTrip := func(c stdnet.Conn, msg string) {
		t.Helper()
		require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
		_, err := io.WriteString(c, msg)
		require.NoError(t, err)
		got := make([]byte, len(msg))
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		require.Equal(t, msg, string(got))
	}
	// Up to the limit: each connection echoes, so each was accepted.
	var served []stdnet.Conn
	for i := range spare {
		c, err := stdnet.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		roundTrip(c, fmt.Sprintf("hello %d", i))
		served = append(served, c)
	}
	// Beyond it: the kernel completes the handshakes, the child cannot
	// accept. Each sends a line it should get back after the recovery.
	var waiting []stdnet.Conn
	for i := range extra {
		c, err := stdnet.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "waiting %d", i)
		require.NoError(t, err)
		waiting = append(waiting, c)
	}

	// (a) A second of exhaustion, measured in the child.
	var cpu, wall time.Duration
	var before, after, accepted int
	_, err = fmt.Sscanf(ask("measure"), "measured cpu=%d wall=%d exhaustions=%d->%d accepted=%d",
		&cpu, &wall, &before, &after, &accepted)
	require.NoError(t, err)
	t.Logf("exhausted for %v: child CPU %v (%.1f%%), %d failed accepts before, %d after",
		wall.Round(time.Millisecond), cpu, 100*float64(cpu)/float64(wall), before, after)
	require.GreaterOrEqual(t, before, 1, "the child never ran out")
	require.Greater(t, after, before, "no retry during a second of exhaustion")
	require.Less(t, after-before, 20, "retries come after pauses that double")
	require.Equal(t, spare, accepted, "a connection past the limit was accepted")
	require.Less(t, cpu, wall/10, "the child spun while out of descriptors")

	// (c) The connections it had still echo.
	for i, c := range served {
		roundTrip(c, fmt.Sprintf("still there %d", i))
	}

	// (d) Closing some frees descriptors: the waiting connections are
	// accepted and get their lines back.
	start := time.Now()
	for _, c := range served[:freed] {
		require.NoError(t, c.Close())
	}
	for i, c := range waiting {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
		msg := fmt.Sprintf("waiting %d", i)
		got := make([]byte, len(msg))
		_, err := io.ReadFull(c, got)
		require.NoError(t, err, "waiting connection %d was never served", i)
		require.Equal(t, msg, string(got))
	}
	t.Logf("recovered: %d waiting connections served %v after %d closes",
		extra, time.Since(start).Round(time.Millisecond), freed)
	for i, c := range append(served[freed:], waiting...) {
		roundTrip(c, fmt.Sprintf("after %d", i))
	}
	var pause time.Duration
	var unsure bool
	_, err = fmt.Sscanf(ask("state"), "state pause=%d unsure=%t accepted=%d", &pause, &unsure, &accepted)
	require.NoError(t, err)
	require.Zero(t, pause, "the pause was not reset by the successful accepts")
	require.False(t, unsure)
	require.Equal(t, spare+extra, accepted)

	// (b) It exits cleanly.
	require.Equal(t, "bye", ask("exit"))
	waitChild(t, cmd, out)
}

// emfileEchoChild is the child of TestListenerOutOfDescriptorsBacksOffAndRecovers:
// an echo server with an accept loop task, its descriptors limited to
// spare more, driven by commands on descriptor 3 and reporting on 4.
func emfileEchoChild(t *testing.T) {
	ctl := bufio.NewScanner(os.NewFile(3, "ctl"))
	rep := os.NewFile(4, "report")
	reply := func(format string, args ...any) {
		_, err := fmt.Fprintf(rep, format+"\n", args...)
		require.NoError(t, err)
	}

	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	n := 0
	loop := runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := l.PollAccept(cx)
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			mu.Lock()
			n++
			mu.Unlock()
			runtime.SpawnFrom(rt, cx, task.Future[error](&echoTask{c: res.Value})).Detach()
		}
	})))
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}

	const spare = 20
	fill := fillDescriptors(t)
	closeFds(t, fill[:spare])
	defer closeFds(t, fill[spare:])
	reply("ready %s %d", l.Addr(), spare)

	for ctl.Scan() {
		switch ctl.Text() {
		case "measure":
			waitUntil(t, func() bool { return metalnet.AcceptExhaustions(l) >= 1 })
			before := metalnet.AcceptExhaustions(l)
			cpu0, wall0 := cpuTime(t), time.Now()
			time.Sleep(time.Second) // the interval measured
			cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
			reply("measured cpu=%d wall=%d exhaustions=%d->%d accepted=%d",
				cpu, wall, before, metalnet.AcceptExhaustions(l), count())
			t.Logf("figure: child CPU over %v out of descriptors: %v", wall.Round(time.Millisecond), cpu)
		case "state":
			// The last accepts end with one that finds the backlog empty.
			waitUntil(t, func() bool { return !metalnet.AcceptUnsure(l) })
			reply("state pause=%d unsure=%t accepted=%d",
				metalnet.AcceptPause(l), metalnet.AcceptUnsure(l), count())
		case "exit":
			require.NoError(t, l.Close())
			res, err := waitTask(t, loop)
			require.NoError(t, err)
			require.ErrorIs(t, res, stdnet.ErrClosed)
			reply("bye")
			return
		default:
			t.Fatalf("unknown command %q", ctl.Text())
		}
	}
	t.Fatalf("the parent went away: %v", ctl.Err())
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Waiting for a connection allocates nothing: the backoff adds an atomic
// load to the accept path, no more.
func TestPendingAcceptDoesNotAllocate(t *testing.T) {
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cx := task.NewContext(task.NewWaker(nopWaker{}))
	allocs := testing.AllocsPerRun(1000, func() {
		cx.Reset()
		if _, ok := l.PollAccept(cx); ok {
			t.Fatal("accepted with nobody connecting")
		}
	})
	require.Zero(t, allocs)
}
