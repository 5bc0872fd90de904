package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startServer builds the example and runs it as its own process on a free
// port, as a user would. It returns the address from the first output line.
func startServer(t *testing.T) (addr string, cmd *exec.Cmd) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	cmd = exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line), cmd
}

func TestEchoServesNetcat(t *testing.T) {
	nc, err := exec.LookPath("nc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nc (netcat-openbsd) is required in CI; .ci/run installs it")
		}
		t.Skip("nc not installed; apt-get install netcat-openbsd")
	}
	addr, _ := startServer(t)
	host, port, err := stdnet.SplitHostPort(addr)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msg := "hello from netcat\nsecond line\n"
	// -N: shut down the writing half at end of input, so the server sees
	// end of stream, echoes the rest and closes, and nc exits.
	cmd := exec.CommandContext(ctx, nc, "-N", host, port)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, msg, string(out))
}

func TestEchoServesAThousandConnections(t *testing.T) {
	addr, _ := startServer(t)
	const (
		clients  = 1000
		messages = 20
	)
	conns := make([]stdnet.Conn, 0, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// All connected at once before any traffic: 1,000 live connections.
	for range clients {
		c, err := stdnet.DialTimeout("tcp", addr, 10*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetDeadline(deadline)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			got := make([]byte, 4096)
			for m := range messages {
				msg := make([]byte, 1+rng.IntN(4096))
				for k := range msg {
					msg[k] = byte(rng.Uint32())
				}
				if _, err := c.Write(msg); err != nil {
					errs <- fmt.Errorf("client %d message %d: write: %w", i, m, err)
					return
				}
				if _, err := io.ReadFull(c, got[:len(msg)]); err != nil {
					errs <- fmt.Errorf("client %d message %d: read: %w", i, m, err)
					return
				}
				if !bytes.Equal(msg, got[:len(msg)]) {
					errs <- fmt.Errorf("client %d message %d: echo differs", i, m)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A client that sends a lot without reading: the server stops reading it
// (its one buffer is full) but keeps serving everyone else, and the slow
// client gets every byte back once it reads.
func TestEchoSlowReaderDoesNotStallOthers(t *testing.T) {
	addr, _ := startServer(t)
	slow, err := stdnet.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()

	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	writeDone := make(chan error, 1)
	go func() {
		_, err := slow.Write(payload)
		writeDone <- err
	}()

	fast, err := stdnet.Dial("tcp", addr)
	require.NoError(t, err)
	defer fast.Close()
	require.NoError(t, fast.SetDeadline(time.Now().Add(10*time.Second)))
	for range 100 {
		_, err := fast.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(fast, buf)
		require.NoError(t, err)
		require.Equal(t, "ping", string(buf))
	}

	require.NoError(t, slow.SetReadDeadline(time.Now().Add(30*time.Second)))
	got := make([]byte, len(payload))
	_, err = io.ReadFull(slow, got)
	require.NoError(t, err)
	require.Equal(t, payload, got)
	require.NoError(t, <-writeDone)
}

func TestEchoStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		addr, cmd := startServer(t)
		c, err := stdnet.Dial("tcp", addr)
		require.NoError(t, err)
		require.NoError(t, cmd.Process.Signal(sig))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "exit status after %v", sig)
		case <-time.After(10 * time.Second):
			t.Fatalf("echo did not stop after %v", sig)
		}
		// Its connections were closed on the way out.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
		c.Close()
	}
}
