package echo

// metal is metal's runtime used as examples/echo -mode task uses it: an
// async Listener, an accept-loop task, and one task per connection, a
// hand-written future that reads with Conn.PollRead and echoes with the
// future Conn.WriteAsync returns. Workers default to GOMAXPROCS.

import (
	"context"
	"errors"
	"fmt"
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
	// shutdownTimeout bounds the wait for a runtime or an engine to stop.
	shutdownTimeout = 5 * time.Second
)

func startMetal(addr string) (Server, error) {
	rt, err := runtime.New()
	if err != nil {
		return nil, err
	}
	shutdown := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return rt.Shutdown(ctx)
	}
	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		_ = shutdown()
		return nil, err
	}
	accept := runtime.Spawn(rt, task.Future[struct{}](&metalAcceptLoop{rt: rt, ln: ln}))
	stop := func() error {
		_ = ln.Close()
		if _, err := accept.Wait(); err != nil {
			_ = shutdown()
			return fmt.Errorf("accept loop: %w", err)
		}
		// Shutdown drops every connection's task, which closes its
		// connection.
		return shutdown()
	}
	return &server{addr: ln.Addr(), stop: stop}, nil
}

// metalAcceptLoop accepts connections and spawns a metalEchoConn task for
// each, until the listener is closed.
type metalAcceptLoop struct {
	rt *runtime.Runtime
	ln *metalnet.Listener

	pause   runtime.SleepFuture // after an accept error
	pausing bool
}

// Poll accepts until no connection is waiting. It completes when the
// listener is closed (or the runtime shuts down).
func (a *metalAcceptLoop) Poll(cx *task.Context) (struct{}, bool) {
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
			a.pause.Reset(acceptPause)
			a.pausing = true
			continue
		}
		runtime.SpawnFrom(a.rt, cx, task.Future[struct{}](&metalEchoConn{c: res.Value})).Detach()
	}
}

// Drop cancels a pause under way when the runtime abandons the loop.
func (a *metalAcceptLoop) Drop() {
	if a.pausing {
		a.pause.Drop()
	}
}

// metalEchoConn echoes one connection. It is reading (write not in use) or
// writing (write holds the bytes just read, and nothing more is read until
// it completes). buf is its only buffer.
type metalEchoConn struct {
	c       *metalnet.Conn
	buf     [bufSize]byte
	write   metalnet.WriteFuture
	writing bool
}

// Poll echoes until the peer closes its side or the connection fails; then
// it closes the connection.
func (e *metalEchoConn) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if e.writing {
			res, ok := e.write.Poll(cx)
			if !ok {
				return struct{}{}, false // the send buffer is full
			}
			e.writing = false
			if res.Err != nil {
				return e.finish()
			}
		}
		res, ok := e.c.PollRead(cx, e.buf[:])
		if !ok {
			return struct{}{}, false
		}
		if res.Err != nil { // io.EOF, or a reset
			return e.finish()
		}
		e.write = e.c.WriteAsync(e.buf[:res.Value])
		e.writing = true
	}
}

func (e *metalEchoConn) finish() (struct{}, bool) {
	_ = e.c.Close()
	return struct{}{}, true
}

// Drop closes the connection of a task the runtime abandoned before it
// finished (at shutdown).
func (e *metalEchoConn) Drop() { _ = e.c.Close() }
