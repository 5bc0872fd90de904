package task

import (
	"context"
	"sync"
)

// ContextDone returns a future that completes with ctx.Err() once ctx is
// done: the bridge from context cancellation to tasks. It registers with
// ctx on its first poll; dropping it unregisters.
func ContextDone(ctx context.Context) Future[error] {
	return &contextDone{ctx: ctx}
}

type contextDone struct {
	ctx  context.Context
	stop func() bool

	mu    sync.Mutex
	waker Waker
}

func (c *contextDone) Poll(cx *Context) (error, bool) {
	if err := c.ctx.Err(); err != nil {
		return err, true
	}
	c.mu.Lock()
	c.waker = cx.Waker()
	c.mu.Unlock()
	if c.stop == nil {
		c.stop = context.AfterFunc(c.ctx, func() {
			c.mu.Lock()
			w := c.waker
			c.mu.Unlock()
			w.Wake()
		})
	}
	// Done between the first look and the waker being in place?
	if err := c.ctx.Err(); err != nil {
		return err, true
	}
	return nil, false
}

// Drop unregisters from the context.
func (c *contextDone) Drop() {
	if c.stop != nil {
		c.stop()
	}
}
