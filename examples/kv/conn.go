package main

// This file is the metal server: an accept loop task, and one task per
// connection whose future is connFuture, a state machine written by hand.
// No connection has a goroutine of its own; the runtime's workers poll the
// futures whose sockets are ready.
//
// A connection goes round three states:
//
//	serving -> writing   the batch has replies
//	serving -> reading   it has none (the buffer held no complete command)
//	writing -> reading   all written
//	writing -> serving   all written, but the batch stopped at batchLimit
//	writing -> done      all written, and the batch ended in QUIT or a
//	                     protocol error
//	reading -> serving   data arrived
//	reading -> done      end of stream or an error (as is any failed write)
//
// serving runs every complete command in the read buffer (decoder and
// commands: resp.go, commands.go) and collects the replies in one output
// buffer; writing hands all of it to the kernel with Conn.PollWrite; only
// then does reading call Conn.PollRead again. So a client that pipelines
// without ever reading stops being read once the kernel will take no more
// of its replies: it costs the server one read buffer and one output
// buffer of at most batchLimit (1 MiB) plus one reply, however much it
// sends. QUIT and protocol errors end the connection after their reply is
// written.

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

// connState is where a connFuture is in its round.
type connState uint8

const (
	connServing connState = iota // run the complete commands buffered
	connWriting                  // write out[sent:]
	connReading                  // read more into the decoder
	connDone                     // closed
)

// connFuture serves one connection. It completes when the connection is
// closed; dropping it (the runtime shutting down) closes the connection.
type connFuture struct {
	c     *metalnet.Conn
	d     decoder
	s     session
	out   []byte   // the replies of the current batch
	sent  int      // how much of out the kernel has taken
	end   batchEnd // why the current batch ended
	state connState
}

// newConnFuture returns the future that serves c with db.
func newConnFuture(c *metalnet.Conn, db *store) *connFuture {
	return &connFuture{c: c, s: session{db: db}}
}

// Poll moves the connection round its states until a socket operation is
// pending or the connection is finished. Every read and write spends a unit
// of the task's cooperative budget, so a client that pipelines without
// pause shares its worker with the others.
func (f *connFuture) Poll(cx *task.Context) (struct{}, bool) {
	for {
		switch f.state {
		case connServing:
			f.out, f.end = f.s.serveBatch(&f.d, f.out[:0], time.Now().UnixNano())
			f.sent = 0
			f.state = connWriting
			if len(f.out) == 0 {
				f.state = connReading
			}

		case connWriting:
			for f.sent < len(f.out) {
				r, ok := f.c.PollWrite(cx, f.out[f.sent:])
				if !ok {
					return struct{}{}, false
				}
				if r.Err != nil {
					return f.finish()
				}
				f.sent += r.Value
			}
			f.out = trimOutput(f.out)
			switch f.end {
			case batchClose:
				return f.finish()
			case batchFull:
				f.state = connServing
			default:
				f.state = connReading
			}

		case connReading:
			r, ok := f.c.PollRead(cx, f.d.ReadSpace())
			if !ok {
				return struct{}{}, false
			}
			if r.Err != nil { // io.EOF: the client left; or a reset
				return f.finish()
			}
			f.d.Wrote(r.Value)
			f.state = connServing

		case connDone:
			return struct{}{}, true
		}
	}
}

// finish closes the connection and completes the future.
func (f *connFuture) finish() (struct{}, bool) {
	f.state = connDone
	_ = f.c.Close()
	f.out = nil
	return struct{}{}, true
}

// Drop closes the connection of a future abandoned before it finished.
func (f *connFuture) Drop() {
	if f.state != connDone {
		f.finish()
	}
}

// acceptLoop accepts connections and spawns a connFuture task for each,
// until the listener is closed.
type acceptLoop struct {
	rt *runtime.Runtime
	ln *metalnet.Listener
	db *store

	// After an accept error such as EMFILE, wait before the next accept,
	// so the loop does not spin while the condition lasts.
	pause   runtime.SleepFuture
	pausing bool
}

// acceptPause is how long the accept loop waits after an accept error.
const acceptPause = 10 * time.Millisecond

// Poll accepts until no connection is waiting. It completes when the
// listener is closed.
func (a *acceptLoop) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if a.pausing {
			if _, ok := a.pause.Poll(cx); !ok {
				return struct{}{}, false
			}
			a.pausing = false
		}
		r, ok := a.ln.PollAccept(cx)
		if !ok {
			return struct{}{}, false
		}
		if r.Err != nil {
			if errors.Is(r.Err, net.ErrClosed) {
				return struct{}{}, true
			}
			log.Printf("kv: accept: %v", r.Err)
			a.pause.Reset(acceptPause)
			a.pausing = true
			continue
		}
		runtime.GoFrom(a.rt, cx, newConnFuture(r.Value, a.db))
	}
}

// Drop cancels a pause under way.
func (a *acceptLoop) Drop() {
	if a.pausing {
		a.pause.Drop()
	}
}

// sweeper is the task that deletes expired keys nobody asks for, once per
// tick of its interval.
type sweeper struct {
	db   *store
	tick *runtime.Interval
}

// Poll sweeps at every tick. It never completes; the runtime's shutdown
// ends it.
func (s *sweeper) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if _, ok := s.tick.Poll(cx); !ok {
			return struct{}{}, false
		}
		s.db.sweep(time.Now().UnixNano(), sweepPerShard)
	}
}

// Drop stops the interval.
func (s *sweeper) Drop() { s.tick.Drop() }

// shutdownTimeout bounds how long serveMetal waits for the runtime to stop.
const shutdownTimeout = 5 * time.Second

// serveMetal serves on addr with a metal runtime of workers workers (0:
// GOMAXPROCS) until ctx is done; then it closes the listener, waits for
// the accept loop, and shuts the runtime down, which drops every
// connection task and so closes its connection. It writes the address it
// listens on, then a newline, to w before it serves.
func serveMetal(ctx context.Context, addr string, w io.Writer, workers int) error {
	var opts []runtime.Option
	if workers > 0 {
		opts = append(opts, runtime.WithWorkers(workers))
	}
	rt, err := runtime.New(opts...)
	if err != nil {
		return err
	}
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return rt.Shutdown(sctx)
	}
	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		_ = stop()
		return err
	}
	fmt.Fprintln(w, ln.Addr())

	db := newStore()
	accept := runtime.Spawn(rt, &acceptLoop{rt: rt, ln: ln, db: db})
	runtime.Go(rt, &sweeper{db: db, tick: runtime.NewInterval(sweepInterval, runtime.Skip)})

	<-ctx.Done()
	_ = ln.Close()
	if _, err := accept.Wait(); err != nil {
		_ = stop()
		return fmt.Errorf("accept loop: %w", err)
	}
	return stop()
}
