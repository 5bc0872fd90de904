//go:build unix

package main

// This file is the reactor: the few dozen lines a callback-style framework
// needs from a poller, written on a metal runtime instead of on its own
// epoll loop.
//
// Each watched descriptor is registered with the runtime's I/O driver
// (rt.Register(poller.SourceFd(fd), ...), edge-triggered) and gets a task
// of its own, a watch. The watch's Poll is the event loop for that one
// descriptor:
//
//	PollReady(Readable) -> pending: the driver wakes the task on the next edge
//	                    -> ready:   onReadable(); ClearReady (the callback read
//	                                to EAGAIN, so the edge is used up)
//
// and the same for Writable while a NotifyWritable callback is armed. The
// callbacks of one descriptor never run at the same time (one task);
// callbacks of different descriptors run in parallel on the runtime's
// workers.

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// Errors the Reactor returns.
var (
	ErrClosed     = errors.New("reactor: closed")
	ErrWatched    = errors.New("reactor: descriptor already watched")
	ErrNotWatched = errors.New("reactor: descriptor not watched")
)

// Reactor calls a function when a file descriptor becomes readable (or
// writable, on request), the way evio's and gnet's event loops do, with
// metal's poller and runtime doing the waiting. The descriptors are the
// caller's: it opens them non-blocking, reads and writes them itself, and
// closes them after Unwatch.
//
//	r := NewReactor(rt)
//	r.Watch(fd, func() {
//		for {
//			n, err := unix.Read(fd, buf)
//			if err == unix.EAGAIN {
//				return // drained: the next edge calls again
//			}
//			...
//		}
//	})
//
// Caveats, as for any edge-triggered reactor:
//
//   - Drain the descriptor: onReadable must read until EAGAIN, or remember
//     that it stopped early and read again later from another callback.
//     The reactor forgets the readiness once the callback returns; bytes
//     left behind bring no new event.
//   - Spurious calls happen: a callback may find nothing (EAGAIN at once).
//   - Callbacks run on the runtime's workers: never block in one (no
//     blocking reads, no sleeps, no waiting on channels).
type Reactor struct {
	rt *runtime.Runtime

	mu      sync.Mutex
	watches map[int]*watch
	closed  bool

	// live counts the watch tasks that have not ended, for Close.
	live sync.WaitGroup
}

// NewReactor returns a Reactor whose callbacks run as tasks of rt.
func NewReactor(rt *runtime.Runtime) *Reactor {
	return &Reactor{rt: rt, watches: make(map[int]*watch)}
}

// Watch calls onReadable, on a worker of the runtime, each time fd may
// have become readable, bytes that arrived before Watch included. fd must
// be non-blocking; the reactor does not own it.
func (r *Reactor) Watch(fd int, onReadable func()) error {
	if fd < 0 {
		return fmt.Errorf("reactor: watch fd %d: bad descriptor", fd)
	}
	if onReadable == nil {
		return fmt.Errorf("reactor: watch fd %d: nil callback", fd)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("reactor: watch fd %d: %w", fd, ErrClosed)
	}
	if r.watches[fd] != nil {
		r.mu.Unlock()
		return fmt.Errorf("reactor: watch fd %d: %w", fd, ErrWatched)
	}
	// Readable and writable from the start: edge-triggered, a writable
	// edge that no NotifyWritable waits for wakes nobody.
	io, err := r.rt.Register(poller.SourceFd(fd), poller.Readable|poller.Writable)
	if err != nil {
		r.mu.Unlock()
		return fmt.Errorf("reactor: watch fd %d: %w", fd, err)
	}
	w := &watch{r: r, fd: fd, io: io, onReadable: onReadable, done: make(chan struct{})}
	r.watches[fd] = w
	r.live.Add(1)
	r.mu.Unlock()

	runtime.Go(r.rt, task.Future[struct{}](w))
	return nil
}

// NotifyWritable arms a one-shot callback: onWritable runs once, on fd's
// task, when fd may take more bytes. Call it after a write returned
// EAGAIN: only a full send buffer that drains brings the writable edge it
// waits for. Like onReadable, the call may be spurious (the next write
// still says EAGAIN): then arm it again. It may be called from fd's own
// callbacks, and never runs at the same time as onReadable.
func (r *Reactor) NotifyWritable(fd int, onWritable func()) error {
	if onWritable == nil {
		return fmt.Errorf("reactor: notify fd %d: nil callback", fd)
	}
	w, err := r.lookup(fd)
	if err != nil {
		return fmt.Errorf("reactor: notify fd %d: %w", fd, err)
	}
	w.wmu.Lock()
	w.onWritable = onWritable
	w.wmu.Unlock()
	// The task may be waiting for readable only: have it look again and
	// wait for writable too.
	w.io.Wake(poller.Readable)
	return nil
}

// Unwatch stops fd's callbacks: none starts after it returns, and fd is
// deregistered from the poller, so the caller may close it. Called from one
// of fd's own callbacks (the usual place: the callback found the end of the
// stream), nothing of fd's runs any more once that callback returns. Called
// from elsewhere, a callback already under way on a worker finishes; use
// Close to wait for callbacks to finish.
func (r *Reactor) Unwatch(fd int) error {
	r.mu.Lock()
	w := r.watches[fd]
	delete(r.watches, fd)
	r.mu.Unlock()
	if w == nil {
		return fmt.Errorf("reactor: unwatch fd %d: %w", fd, ErrNotWatched)
	}
	return w.stop()
}

// Close unwatches every descriptor and waits until no callback is running.
// Watch fails afterwards. The descriptors stay open: they are the
// caller's. Never call Close from a callback: it would wait for itself.
func (r *Reactor) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.closed = true
	ws := make([]*watch, 0, len(r.watches))
	for _, w := range r.watches {
		ws = append(ws, w)
	}
	r.mu.Unlock()

	// Callbacks under way may Unwatch their own descriptor meanwhile: the
	// watch stops once, and whoever comes second waits for the first.
	var errs []error
	for _, w := range ws {
		if err := w.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	r.live.Wait()
	r.mu.Lock()
	clear(r.watches)
	r.mu.Unlock()
	return errors.Join(errs...)
}

func (r *Reactor) lookup(fd int) (*watch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch w := r.watches[fd]; {
	case r.closed:
		return nil, ErrClosed
	case w != nil:
		return w, nil
	default:
		return nil, ErrNotWatched
	}
}

// watch is one descriptor's task.
type watch struct {
	r          *Reactor
	fd         int
	io         *runtime.IO
	onReadable func()

	// state is the watch's one word that several goroutines touch:
	//
	//	bit 0  watchRunning  a callback is running; set and cleared by the
	//	                     task (0 -> running, running -> 0)
	//	bit 1  watchStopped  Unwatch or Close stopped the watch; set once,
	//	                     by them, never cleared
	//
	// The task starts a callback only by the transition 0 -> running, so
	// once stopped is set no callback starts; a callback that was running
	// when it was set finishes, and the task ends after it.
	state atomic.Uint32

	wmu        sync.Mutex
	onWritable func() // armed by NotifyWritable; taken by the task

	stopOnce sync.Once
	stopErr  error

	done chan struct{} // closed when the task has ended (tests wait on it)
}

const (
	watchRunning uint32 = 1 << 0
	watchStopped uint32 = 1 << 1
)

// Poll runs fd's callbacks as its readiness comes, until the watch is
// stopped (or the runtime shuts down).
func (w *watch) Poll(cx *task.Context) (struct{}, bool) {
	for {
		// Callbacks on a busy descriptor take turns with the other tasks.
		if !cx.Proceed() {
			return struct{}{}, false
		}
		progressed := false

		if w.writableArmed() {
			r, ok := w.io.PollReady(cx, poller.Writable)
			if ok {
				if r.IsClosed() {
					return w.end()
				}
				if !w.run(w.takeWritable()) {
					return w.end()
				}
				w.io.ClearReady(r)
				progressed = true
			}
		}

		r, ok := w.io.PollReady(cx, poller.Readable)
		if ok {
			if r.IsClosed() {
				return w.end()
			}
			if !w.run(w.onReadable) {
				return w.end()
			}
			// The callback read to EAGAIN: this edge is used up. If a
			// newer one came meanwhile, ClearReady leaves it be.
			w.io.ClearReady(r)
			progressed = true
		}

		if !progressed {
			return struct{}{}, false
		}
	}
}

// run calls f unless the watch was stopped, and reports whether the watch
// goes on.
func (w *watch) run(f func()) bool {
	if !w.state.CompareAndSwap(0, watchRunning) { // 0 -> running
		return false // stopped
	}
	f()
	return w.state.CompareAndSwap(watchRunning, 0) // running -> 0, unless stopped meanwhile
}

func (w *watch) writableArmed() bool {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.onWritable != nil
}

func (w *watch) takeWritable() func() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	f := w.onWritable
	w.onWritable = nil
	return f
}

// stop sets the stopped bit and deregisters the descriptor; closing the IO
// also wakes the task, which then ends. It does so once; a second call
// waits for the first to finish, so that both callers may close the
// descriptor when it returns.
func (w *watch) stop() error {
	w.stopOnce.Do(func() {
		w.state.Or(watchStopped)
		if err := w.io.Close(); err != nil {
			w.stopErr = fmt.Errorf("reactor: unwatch fd %d: %w", w.fd, err)
		}
	})
	return w.stopErr
}

// end completes the task.
func (w *watch) end() (struct{}, bool) {
	w.finish()
	return struct{}{}, true
}

// Drop is called instead when the runtime abandons the task (it shut down
// first, or a callback panicked).
func (w *watch) Drop() { w.finish() }

func (w *watch) finish() {
	close(w.done)
	w.r.live.Done()
}
