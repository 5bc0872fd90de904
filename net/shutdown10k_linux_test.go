//go:build linux

package net_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// A runtime serving 10,000 connections, a task each, beside 10,000 idle
// tasks, shuts down within its context, ends every goroutine it started
// and closes every descriptor it opened.
//
// The clients live in a child process (this test binary again, with
// shutdown10kChildEnv set): the two sides need 20,000 descriptors, the
// limit of one process here. The child opens its connections with raw
// non-blocking sockets from one goroutine (testutil.DialRawEcho), since
// the race detector allows a process at most 8128 goroutines.

const (
	shutdown10kConns = 10_000
	shutdown10kIdle  = 10_000
	// shutdown10kChildEnv holds the server's address in the child.
	shutdown10kChildEnv = "METAL_SHUTDOWN10K_CHILD"
	// shutdown10kChildLife bounds the child's life should the parent
	// vanish without killing it.
	shutdown10kChildLife = 2 * time.Minute
)

// floodAcceptor accepts connections and spawns an echoTask for each, on
// its worker. It owns the listener: cancelled, it closes it.
type floodAcceptor struct {
	rt       *runtime.Runtime
	l        *metalnet.Listener
	accepted atomic.Int64
	reads    atomic.Int64
}

func (a *floodAcceptor) Poll(cx *task.Context) (error, bool) {
	for {
		res, ok := a.l.PollAccept(cx)
		if !ok {
			return nil, false
		}
		if res.Err != nil {
			a.l.Close()
			return res.Err, true
		}
		a.accepted.Add(1)
		runtime.SpawnFrom(a.rt, cx, task.Future[error](&echoTask{c: res.Value, reads: &a.reads})).Detach()
	}
}

func (a *floodAcceptor) Drop() { a.l.Close() }

// floodIdleTask waits on wait, and counts its first poll: once every
// idle task has been polled, each is registered with what it waits on.
type floodIdleTask struct {
	wait   task.Future[struct{}]
	polled bool
	first  *atomic.Int64
	all    chan struct{} // closed by the last first poll
}

func (i *floodIdleTask) Poll(cx *task.Context) (struct{}, bool) {
	if !i.polled {
		i.polled = true
		if i.first.Add(1) == shutdown10kIdle {
			close(i.all)
		}
	}
	return i.wait.Poll(cx)
}

func (i *floodIdleTask) Drop() { task.Drop(i.wait) }

func TestShutdownWith10000ConnectionsAndTasks(t *testing.T) {
	if addr := os.Getenv(shutdown10kChildEnv); addr != "" {
		shutdown10kClient(addr) // exits
	}
	if testing.Short() {
		t.Skip("20,000 descriptors in two processes; not in -short")
	}
	limit, err := testutil.RaiseFdLimit()
	require.NoError(t, err)
	if limit < shutdown10kConns+1000 {
		t.Skipf("the descriptor limit is %d; the server side needs %d", limit, shutdown10kConns+1000)
	}

	leftovers := goleak.IgnoreCurrent() // goroutines of the test framework and of earlier tests
	fdsBefore := testutil.FdTargets(t)

	rt, err := runtime.New(runtime.WithWorkers(2))
	require.NoError(t, err)
	shut := false
	t.Cleanup(func() {
		if !shut {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = rt.Shutdown(ctx)
		}
	})
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	acceptor := &floodAcceptor{rt: rt, l: l}
	acceptH := runtime.Spawn(rt, task.Future[error](acceptor))

	// 10,000 idle tasks: half wait on a Notify nobody notifies, half on an
	// hour's sleep in the workers' timer wheels.
	var never task.Notify
	var firstPolls atomic.Int64
	allPolled := make(chan struct{})
	idle := make([]*task.JoinHandle[struct{}], shutdown10kIdle)
	for i := range idle {
		wait := task.Future[struct{}](never.Notified())
		if i%2 == 1 {
			wait = runtime.Sleep(time.Hour)
		}
		idle[i] = runtime.Spawn(rt, task.Future[struct{}](&floodIdleTask{wait: wait, first: &firstPolls, all: allPolled}))
	}
	select {
	case <-allPolled:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d idle tasks polled within 30s", firstPolls.Load(), shutdown10kIdle)
	}

	// The clients.
	start := time.Now()
	child, ready := startShutdown10kClient(t, l.Addr().String())
	select {
	case line := <-ready:
		require.Equal(t, fmt.Sprintf("ready %d", shutdown10kConns), line, "the client's report")
	case <-time.After(60 * time.Second):
		t.Fatalf("the client did not connect within 60s (server accepted %d, read %d)", acceptor.accepted.Load(), acceptor.reads.Load())
	}
	connectTime := time.Since(start)
	require.EqualValues(t, shutdown10kConns, acceptor.accepted.Load())
	require.EqualValues(t, shutdown10kConns, acceptor.reads.Load(), "one message read on every connection")
	// A task joins the live set when its poll returns pending, a moment
	// after the read the client's report counts.
	// (Metrics has no signal to wait for: it is polled, bounded.)
	m := rt.Metrics()
	for deadline := time.Now().Add(10 * time.Second); m.LiveTasks != 1+shutdown10kConns+shutdown10kIdle && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		m = rt.Metrics()
	}
	require.Equal(t, 1+shutdown10kConns+shutdown10kIdle, m.LiveTasks, "%v", m)
	require.Equal(t, 1+shutdown10kConns, m.IOSources, "%v", m)
	fdsLoaded := testutil.FdTargets(t)

	// Shut down with everything live.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start = time.Now()
	err = rt.Shutdown(ctx)
	took := time.Since(start)
	shut = true
	require.NoError(t, err, "Shutdown returned after %v", took)

	for i, h := range idle {
		require.True(t, h.IsFinished(), "idle task %d", i)
		_, err := h.Wait()
		require.ErrorIs(t, err, runtime.ErrShutdown, "idle task %d", i)
	}
	require.True(t, acceptH.IsFinished())
	_, err = acceptH.Wait()
	require.ErrorIs(t, err, runtime.ErrShutdown)
	m = rt.Metrics()
	require.Zero(t, m.LiveTasks, "%v", m)

	// Every descriptor the server opened is closed: what is open now and
	// was not before is the parent's hold on the child alone, its stdin
	// pipe and its pidfd (os.Process's, on Linux 5.4 and later).
	fdsAfter := testutil.FdTargets(t)
	var leaked []string
	for fd, target := range fdsAfter {
		if fdsBefore[fd] == target || fd == int(child.stdin.Fd()) || target == "anon_inode:[pidfd]" {
			continue
		}
		leaked = append(leaked, strconv.Itoa(fd)+" -> "+target)
	}
	if len(leaked) > 0 {
		t.Fatalf("%d descriptors opened since the runtime was made are still open, among them %v",
			len(leaked), leaked[:min(len(leaked), 10)])
	}

	// Every goroutine the runtime started has ended.
	goleak.VerifyNone(t, leftovers)

	t.Logf("%d connections (made in %v) and %d idle tasks: Shutdown took %v; descriptors %d before, %d loaded %v, %d after; goroutines now %d",
		shutdown10kConns, connectTime.Round(time.Millisecond), shutdown10kIdle, took.Round(time.Microsecond),
		len(fdsBefore), len(fdsLoaded), testutil.FdKinds(fdsLoaded), len(fdsAfter), goruntime.NumGoroutine())

	child.stop(t)
}

// shutdown10kChild is the client process.
type shutdown10kChild struct {
	cmd   *exec.Cmd
	stdin *os.File // the parent's end: closing it tells the child to exit
	done  bool
}

// startShutdown10kClient runs the client process against addr and returns
// it with a channel that gets its report line ("ready N", or an error).
// The process is killed when the test ends, if stop has not ended it.
func startShutdown10kClient(t *testing.T, addr string) (*shutdown10kChild, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestShutdownWith10000ConnectionsAndTasks$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), shutdown10kChildEnv+"="+addr)
	cmd.Stderr = os.Stderr
	stdinR, stdinW, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	stdinR.Close()
	c := &shutdown10kChild{cmd: cmd, stdin: stdinW}
	t.Cleanup(func() {
		if !c.done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			stdinW.Close()
		}
	})
	ready := make(chan string, 1)
	go func() {
		// One line, then the pipe is closed: the child writes nothing more.
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			line = fmt.Sprintf("no report from the client: %v (%q)", err, line)
		}
		stdout.Close()
		ready <- strings.TrimSpace(line)
	}()
	return c, ready
}

// stop kills the child and reaps it.
func (c *shutdown10kChild) stop(t *testing.T) {
	t.Helper()
	c.done = true
	require.NoError(t, c.cmd.Process.Kill())
	err := c.cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the client was killed: %v", err)
	c.stdin.Close()
}

// shutdown10kClient is the child's whole life: connect, report, hold the
// connections until the parent kills it (or closes its stdin, or the
// child's time is up), never returning.
func shutdown10kClient(addr string) {
	fail := func(err error) {
		fmt.Printf("client error: %v\n", err)
		os.Exit(1)
	}
	if _, err := testutil.RaiseFdLimit(); err != nil {
		fail(err)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		fail(err)
	}
	fds, err := testutil.DialRawEcho(ap, shutdown10kConns, 256, 50*time.Second)
	if err != nil {
		fail(err)
	}
	fmt.Printf("ready %d\n", len(fds))
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-time.After(shutdown10kChildLife):
	}
	os.Exit(0)
}
