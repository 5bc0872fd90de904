package echo

// metal is metal's runtime used as examples/echo -mode task uses it: an
// async Listener, an accept-loop task, and one task per connection, which
// echoes with metal's copy future (CopyBufferAsync from the connection to
// itself). Workers default to GOMAXPROCS.

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
		runtime.SpawnFrom(a.rt, cx, task.Future[struct{}](newMetalEchoConn(res.Value))).Detach()
	}
}

// Drop cancels a pause under way when the runtime abandons the loop.
func (a *metalAcceptLoop) Drop() {
	if a.pausing {
		a.pause.Drop()
	}
}

// metalEchoConn echoes one connection with metal's own copy future,
// CopyBufferAsync(c, c): it reads into its one buffer and reads again only
// once the kernel has taken the echo, so a slow reader costs one buffer.
// It closes the connection when the peer closes its side or the
// connection fails, and when the runtime drops the task.
type metalEchoConn struct {
	c    *metalnet.Conn
	copy *metalnet.CopyFuture
}

func newMetalEchoConn(c *metalnet.Conn) *metalEchoConn {
	return &metalEchoConn{c: c, copy: metalnet.CopyBufferAsync(c, c, make([]byte, bufSize))}
}

// Poll echoes until the copy ends.
func (e *metalEchoConn) Poll(cx *task.Context) (struct{}, bool) {
	if _, ok := e.copy.Poll(cx); !ok {
		return struct{}{}, false
	}
	_ = e.c.Close()
	return struct{}{}, true
}

// Drop closes the connection of a task the runtime abandoned.
func (e *metalEchoConn) Drop() { _ = e.c.Close() }
