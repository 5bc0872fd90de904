package peer

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

// acceptPause is how long metal's accept loop waits after an accept
// error, so that it does not spin while the condition lasts.
const acceptPause = 10 * time.Millisecond

// StartMetal serves addr with metal's runtime as its examples use it: an
// async Listener, an accept-loop task, and one task per connection, the
// future serve returns for it. Workers default to GOMAXPROCS. The future
// owns its connection: it closes it when it completes, and its Drop (if
// it has one) closes it when the runtime abandons the task at shutdown.
func StartMetal(addr string, serve func(*metalnet.Conn) task.Future[struct{}]) (*Server, error) {
	rt, err := runtime.New()
	if err != nil {
		return nil, err
	}
	shutdown := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		return rt.Shutdown(ctx)
	}
	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		_ = shutdown()
		return nil, err
	}
	accept := runtime.Spawn(rt, task.Future[struct{}](&metalAcceptLoop{rt: rt, ln: ln, serve: serve}))
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
	return &Server{addr: ln.Addr(), stop: stop}, nil
}

// metalAcceptLoop accepts connections and spawns a task for each, until
// the listener is closed.
type metalAcceptLoop struct {
	rt    *runtime.Runtime
	ln    *metalnet.Listener
	serve func(*metalnet.Conn) task.Future[struct{}]

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
		runtime.GoFrom(a.rt, cx, a.serve(res.Value))
	}
}

// Drop cancels a pause under way when the runtime abandons the loop.
func (a *metalAcceptLoop) Drop() {
	if a.pausing {
		a.pause.Drop()
	}
}
