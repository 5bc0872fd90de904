package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalio/metal/bench/load"
	"github.com/metalio/metal/bench/servers/echo"
)

// childEnv, when set, makes the test binary run as the server command itself, so
// the tests drive the real command, signals and all, without building it.
const childEnv = "BENCH_SERVER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startServer runs server -kind echo -impl impl on a free port and returns the
// address from its first line, and the process.
func startServer(t *testing.T, impl string) (string, *exec.Cmd) {
	addr, cmd, _ := startServerLines(t, impl)
	return addr, cmd
}

// startServerLines is startServer that also returns the lines the server
// prints after its address.
func startServerLines(t *testing.T, impl string) (string, *exec.Cmd, <-chan string) {
	return startKind(t, "echo", impl)
}

// startKind runs server -kind kind -impl impl on a free port.
func startKind(t *testing.T, kind, impl string) (string, *exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-kind", kind, "-impl", impl, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	select {
	case addr := <-lines:
		if addr == "" {
			t.Fatalf("server -impl %s printed no address", impl)
		}
		return addr, cmd, lines
	case <-time.After(10 * time.Second):
		t.Fatalf("server -impl %s printed no address within 10s", impl)
	}
	return "", nil, nil
}

// stopServer sends SIGTERM and expects a clean exit.
func stopServer(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit within 10s of SIGTERM")
	}
}

// runLoad runs the load client and requires a clean run with traffic.
func runLoad(t *testing.T, cfg load.Config) {
	t.Helper()
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("conns=%d size=%d pipeline=%d: %v", cfg.Conns, cfg.Size, cfg.Pipeline, res)
	if res.Errors != 0 {
		t.Errorf("%d errors, first: %v", res.Errors, res.FirstErr)
	}
	if res.Msgs == 0 {
		t.Error("no message was echoed")
	}
}

// Every implementation echoes exactly what it is sent (the load client
// checks every byte), small messages one at a time and pipelined, and large
// batches that fill the socket buffers; and it stops cleanly on SIGTERM.
func TestEveryImplementationEchoesCorrectly(t *testing.T) {
	for _, impl := range echo.Impls() {
		t.Run(impl, func(t *testing.T) {
			addr, cmd := startServer(t, impl)
			runLoad(t, load.Config{Addr: addr, Conns: 8, Size: 64, Pipeline: 1, Duration: time.Second})
			runLoad(t, load.Config{Addr: addr, Conns: 8, Size: 100, Pipeline: 16, Duration: 200 * time.Millisecond})
			runLoad(t, load.Config{Addr: addr, Conns: 4, Size: 64 << 10, Pipeline: 4, Duration: 300 * time.Millisecond})
			stopServer(t, cmd)
		})
	}
}

func TestUnknownImplementationIsRefused(t *testing.T) {
	err := run(context.Background(), []string{"-impl", "threads", "-addr", "127.0.0.1:0"}, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), `unknown implementation "threads"`) {
		t.Fatalf("run -impl threads: got %v, want an unknown-implementation error", err)
	}
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0"}, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "-impl is required") {
		t.Fatalf("run without -impl: got %v, want -impl is required", err)
	}
}

// SIGUSR1 makes the server collect garbage and say so with a line "gc",
// and it keeps serving afterwards.
func TestSIGUSR1CollectsGarbageAndSaysSo(t *testing.T) {
	addr, cmd, lines := startServerLines(t, "metal")
	for range 2 {
		if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case line := <-lines:
			if line != "gc" {
				t.Fatalf("after SIGUSR1 the server printed %q, want \"gc\"", line)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10s of SIGUSR1")
		}
	}
	runLoad(t, load.Config{Addr: addr, Conns: 2, Size: 64, Pipeline: 1, Duration: 100 * time.Millisecond})
	stopServer(t, cmd)
}

func TestUnknownKindIsRefused(t *testing.T) {
	err := run(context.Background(), []string{"-kind", "gopher", "-impl", "std", "-addr", "127.0.0.1:0"}, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), `unknown -kind "gopher"`) {
		t.Fatalf("run -kind gopher: got %v, want an unknown-kind error", err)
	}
}

func TestListPrintsTheImplementations(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-kind", "echo", "-list"}, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), strings.Join(echo.Impls(), "\n")+"\n"; got != want {
		t.Fatalf("-list printed %q, want %q", got, want)
	}
}

// The resp and http kinds serve their protocols: metal's and std's answer
// a PING and a GET / through the command.
func TestRESPAndHTTPKindsServe(t *testing.T) {
	for _, impl := range []string{"std", "metal"} {
		addr, cmd, _ := startKind(t, "resp", impl)
		if got := exchange(t, addr, "*1\r\n$4\r\nPING\r\n", len("+PONG\r\n")); got != "+PONG\r\n" {
			t.Errorf("resp %s answered PING with %q", impl, got)
		}
		stopServer(t, cmd)

		addr, cmd, _ = startKind(t, "http", impl)
		const req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		if got := exchange(t, addr, req, -1); !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "Hello, World!") {
			t.Errorf("http %s answered GET / with %q", impl, got)
		}
		stopServer(t, cmd)
	}
}

// exchange sends req and reads n bytes of answer, or (n < 0) all of it
// until the server closes.
func exchange(t *testing.T, addr, req string, n int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}
