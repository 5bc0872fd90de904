package main

// This file is -mode task: the echo server as tasks on a metal runtime.
//
//	main goroutine   ListenRuntime, spawn the accept loop, wait for a signal
//	acceptLoop task  PollAccept until the listener closes; a task per Conn
//	echoConn task    PollRead into its buffer, WriteAsync what it read,
//	                 read again once the write has completed
//
// A task that cannot go on returns pending and the runtime's I/O driver
// wakes it when its socket is ready, so 10,000 idle connections are 10,000
// small structs, not 10,000 goroutines.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

const (
	// acceptPause is how long the accept loop waits after an accept error
	// such as EMFILE, so that it does not spin while the condition lasts.
	acceptPause = 10 * time.Millisecond
	// shutdownTimeout bounds the wait for the runtime to stop.
	shutdownTimeout = 5 * time.Second
)

// serveTasks serves on addr until ctx is done, then closes the listener,
// waits for the accept loop to end and shuts the runtime down, which drops
// every connection's task and so closes its connection. It writes the
// address it listens on, then a newline, to w before it serves.
func serveTasks(ctx context.Context, addr string, w io.Writer) error {
	rt, err := runtime.New()
	if err != nil {
		return err
	}
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return rt.Shutdown(sctx)
	}
	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		_ = shutdown()
		return err
	}
	fmt.Fprintln(w, ln.Addr())

	accept := runtime.Spawn(rt, task.Future[struct{}](&acceptLoop{rt: rt, ln: ln}))

	<-ctx.Done()
	_ = ln.Close()
	if _, err := accept.Wait(); err != nil {
		_ = shutdown()
		return fmt.Errorf("accept loop: %w", err)
	}
	return shutdown()
}

// acceptLoop accepts connections and spawns an echoConn task for each,
// until the listener is closed.
type acceptLoop struct {
	rt *runtime.Runtime
	ln *metalnet.Listener

	pause   runtime.SleepFuture // after an accept error
	pausing bool
}

// Poll accepts until no connection is waiting. It completes when the
// listener is closed (or the runtime shuts down).
func (a *acceptLoop) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if a.pausing {
			if _, ok := a.pause.Poll(cx); !ok {
				return struct{}{}, false
			}
			a.pausing = false
		}
		res, ok := a.ln.PollAccept(cx)
		if !ok {
			return struct{}{}, false
		}
		if res.Err != nil {
			if errors.Is(res.Err, net.ErrClosed) || errors.Is(res.Err, runtime.ErrShutdown) {
				return struct{}{}, true
			}
			// Out of descriptors, most likely: serve the connections we
			// have and try again in a moment.
			log.Printf("echo: accept: %v", res.Err)
			a.pause.Reset(acceptPause)
			a.pausing = true
			continue
		}
		runtime.GoFrom(a.rt, cx, task.Future[struct{}](&echoConn{c: res.Value}))
	}
}

// Drop cancels a pause under way when the runtime abandons the loop.
func (a *acceptLoop) Drop() {
	if a.pausing {
		a.pause.Drop()
	}
}

// echoConn echoes one connection. It is a two-state machine: reading
// (write is not in use) or writing (write holds the bytes just read, and
// nothing more is read until it completes). buf is its only buffer.
type echoConn struct {
	c       *metalnet.Conn
	buf     [bufSize]byte
	write   metalnet.WriteFuture
	writing bool
}

// Poll echoes until the peer closes its side (everything it sent has been
// echoed by then) or the connection fails; then it closes the connection.
func (e *echoConn) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if e.writing {
			res, ok := e.write.Poll(cx)
			if !ok {
				return struct{}{}, false // the send buffer is full: back-pressure
			}
			e.writing = false
			if res.Err != nil { // the peer reset, most likely
				return e.finish()
			}
		}
		res, ok := e.c.PollRead(cx, e.buf[:])
		if !ok {
			return struct{}{}, false
		}
		if res.Err != nil { // io.EOF: the client is done; or a reset
			return e.finish()
		}
		e.write = e.c.WriteAsync(e.buf[:res.Value])
		e.writing = true
	}
}

// finish closes the connection and completes the task.
func (e *echoConn) finish() (struct{}, bool) {
	_ = e.c.Close()
	return struct{}{}, true
}

// Drop closes the connection of a task the runtime abandoned before it
// finished (at shutdown). The runtime never drops a completed future.
func (e *echoConn) Drop() { _ = e.c.Close() }
