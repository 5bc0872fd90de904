// Package poller is metal's core, the mio model in Go: a Poll waits for
// readiness events on many sources at once; a Registry adds, changes and
// removes sources; each source carries a caller-chosen Token that comes back
// in its events; a Waker lets another goroutine interrupt a waiting Poll.
//
//	p, _ := poller.New()
//	defer p.Close()
//	p.Registry().Register(poller.SourceFd(fd), 1, poller.Readable)
//	events := poller.NewEvents(128)
//	for {
//		p.Poll(events, -1)
//		for ev := range events.All() {
//			// read ev.Token()'s source until ErrWouldBlock
//		}
//	}
//
// # The backend contract
//
// Each platform supplies a selector in a file of its own (epoll_linux.go,
// kqueue_bsd.go, poller_other.go), chosen by build constraints; nothing in
// this file asks which platform it runs on. A selector provides:
//
//	newSelector() (*selector, error)
//		a kernel queue opened O_CLOEXEC with its internal wake-up armed.
//	(*selector).clone() (*selector, error)
//		the same kernel queue under a descriptor duplicated with
//		F_DUPFD_CLOEXEC and a lower bound of 3; it has no internal wake-up.
//	(*selector).register(fd, Token, Interest) error
//	(*selector).reregister(fd, Token, Interest) error
//	(*selector).deregister(fd) error
//		ErrAlreadyRegistered / ErrNotRegistered for misuse, the errno
//		otherwise; the Interest is valid.
//	(*selector).wait(ev *Events, timeout time.Duration) (woken bool, err error)
//		one wait in the kernel (timeout < 0: no limit; 0: do not block;
//		otherwise whole milliseconds, rounded up). It appends the
//		caller's events to ev, never more than ev.Cap(), and reports
//		woken when the internal wake-up fired. EINTR comes back as is:
//		the caller retries with the time left.
//	(*selector).wake() error
//		fires the internal wake-up; never blocks; coalesces.
//	(*selector).newWaker(r *Registry, Token) (*Waker, error)
//	(*selector).destroy()
//		closes every descriptor; called exactly once, by whoever drops
//		the last reference after Close.
//	ref fdref.State
//		guards the descriptors: every method but destroy runs between
//		ref.Acquire and ref.Release.
package poller

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/atomic"

	"github.com/metalio/metal/queue"
)

// Poll waits for readiness events on the sources registered with its
// Registry.
//
// Poll is safe for concurrent use: Registry calls may come from any
// goroutine, including while another goroutine is blocked in Poll, and
// several goroutines may call Poll at once (each event is delivered to one
// of them).
//
// # Spurious events
//
// An event says a source may be ready. A read after it can still return
// ErrWouldBlock: the kernel may report readiness that someone else consumed,
// and registering a source may itself produce an event.
//
// # Draining readiness
//
// With the default edge-triggered registration an event arrives when
// readiness changes. After one, read (or write, or accept) until the call
// returns ErrWouldBlock; stopping earlier can leave the source ready with no
// further event to say so.
//
// # Closing
//
// Close stops the Poll: waiting calls return ErrClosed, later calls fail
// with ErrClosed, and the kernel queue is released once the last call has
// returned. Sources are not closed; deregister or close them yourself.
type Poll struct {
	registry Registry
	lock     pollLock     // one goroutine at a time in the wait and the drain
	queue    *queue.Queue // user-space readiness (Registration); consumer: the lock holder
	wakeups  atomic.Uint64
}

// New opens a Poll on the platform's kernel queue: epoll on Linux, kqueue on
// macOS and the BSDs. Elsewhere it returns an error matching
// errors.ErrUnsupported.
func New() (*Poll, error) {
	sel, err := newSelector()
	if err != nil {
		return nil, err
	}
	p := &Poll{lock: newPollLock()}
	// A producer whose push finds the poller asleep wakes it. The reference
	// keeps the wake from landing on a descriptor number already reused.
	p.queue = queue.New(func() {
		if sel.ref.Acquire() {
			p.wakeups.Inc()
			_ = sel.wake()
			if sel.ref.Release() {
				p.registry.destroy()
			}
		}
	})
	p.registry = Registry{sel: sel, queue: p.queue}
	return p, nil
}

// Registry returns the Poll's registry, through which sources are added,
// changed and removed.
func (p *Poll) Registry() *Registry { return &p.registry }

// Poll waits until at least one registered source is ready or the timeout
// passes, and fills ev with up to ev.Cap() events (the rest come next call):
// first the kernel's, then user-space readiness from Registrations.
//
// A negative timeout waits without limit. A zero timeout asks the kernel once
// and returns at once. A positive timeout is rounded up to whole
// milliseconds, so a short timeout never turns into a busy loop; Poll returns
// with no events only once the whole timeout has passed. Interruptions by
// signals (Go preempts goroutines with SIGURG) are retried with the time
// left and never surface.
//
// Several goroutines may call Poll at once: one waits in the kernel and
// drains the readiness queue, the others wait their turn, the time spent
// waiting taken off their timeout (a zero timeout returns at once with no
// events when another goroutine is polling).
//
// Poll allocates nothing.
func (p *Poll) Poll(ev *Events, timeout time.Duration) error {
	if ev == nil || ev.Cap() == 0 {
		return ErrNoCapacity
	}
	ev.Clear()
	sel := p.registry.sel
	if !sel.ref.Acquire() {
		return ErrClosed
	}
	defer p.registry.release()
	left, ok := p.lock.lock(timeout)
	if !ok {
		return nil
	}
	defer p.lock.unlock()
	return p.poll(ev, timeout, left)
}

// poll is the critical section: the kernel wait and the queue drain.
// timeout is what the caller asked for, left what remains of it.
func (p *Poll) poll(ev *Events, timeout, left time.Duration) error {
	sel := p.registry.sel
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(left)
	}
	wait := left
	for {
		if sel.ref.IsClosed() {
			return ErrClosed
		}
		// Block in the kernel only with the sleep marker in: a Set that
		// replaces it wakes us. If the queue has nodes, do not block.
		kernelWait := wait
		if wait != 0 && !p.queue.PrepareForSleep() {
			kernelWait = 0
		}
		woken, err := sel.wait(ev, kernelWait)
		interrupted := errors.Is(err, syscall.EINTR)
		if err != nil && !interrupted {
			return fmt.Errorf("poller: wait: %w", err)
		}
		if woken && sel.ref.IsClosed() {
			// Close woke us. Pass the wake-up on: an edge-triggered
			// wake-up reaches one waiter, and others may be blocked too.
			_ = sel.wake()
			ev.Clear()
			return ErrClosed
		}
		p.drain(ev)
		if ev.Len() > 0 || (timeout == 0 && !interrupted) {
			return nil
		}
		if timeout > 0 {
			// Nothing for the caller yet: a signal, a wake-up for a node
			// that turned out not to be ready, or a kernel timer that
			// fired a hair early. Wait out the rest.
			wait = time.Until(deadline)
			if wait <= 0 {
				return nil
			}
		}
	}
}

// drain moves user-space readiness from the queue into ev, within its
// capacity. A level-triggered node that is still ready goes back on the
// queue, and the drain stops when it meets it again, so each node yields
// at most one event per Poll.
func (p *Poll) drain(ev *Events) {
	var until *queue.Node
	for len(ev.list) < cap(ev.list) {
		n, outcome := p.queue.Dequeue(until)
		switch outcome {
		case queue.Empty:
			return
		case queue.Inconsistent:
			// A producer is between its push and its link. Let it run;
			// the node is not lost, the next drain finds it.
			runtime.Gosched()
			return
		}
		ready, token, requeue := n.Dequeued()
		if requeue {
			if until == nil {
				until = n
			}
			p.queue.Enqueue(n)
		}
		if ready != 0 {
			ev.push(Token(token), userFlags(ready))
		}
	}
}

// Close closes the Poll. Goroutines blocked in Poll return ErrClosed. The
// Registry closes with it; cloned registries stay usable until closed
// themselves. A second Close returns ErrClosed.
func (p *Poll) Close() error {
	sel := p.registry.sel
	first, closeNow := sel.ref.Close()
	if !first {
		return ErrClosed
	}
	if closeNow {
		p.registry.destroy()
		return nil
	}
	// Someone is in the kernel: wake them so the last of them closes.
	// The descriptors stay open until then, so wake cannot hit a reused fd.
	return sel.wake()
}

// Registry adds, changes and removes the sources a Poll watches. It is safe
// for concurrent use, also while the Poll is waiting: a source registered
// during a Poll reports its events to that Poll.
type Registry struct {
	sel    *selector
	queue  *queue.Queue // the Poll's readiness queue, shared by clones
	cloned bool
}

// Register starts watching s for the readiness in i, reporting it with token
// t. Registering a source twice returns ErrAlreadyRegistered.
func (r *Registry) Register(s Source, t Token, i Interest) error {
	if s == nil {
		return fmt.Errorf("poller: register nil source: %w", ErrInvalidSource)
	}
	return s.Register(r, t, i)
}

// Reregister replaces the token and interest of a registered source. It
// also arms a Oneshot registration again.
func (r *Registry) Reregister(s Source, t Token, i Interest) error {
	if s == nil {
		return fmt.Errorf("poller: reregister nil source: %w", ErrInvalidSource)
	}
	return s.Reregister(r, t, i)
}

// Deregister stops watching s. No event for it is delivered by a Poll call
// that starts after Deregister returns.
func (r *Registry) Deregister(s Source) error {
	if s == nil {
		return fmt.Errorf("poller: deregister nil source: %w", ErrInvalidSource)
	}
	return s.Deregister(r)
}

// TryClone returns a second Registry for the same Poll, with a kernel
// descriptor of its own, to hand to code that should register sources but
// not poll. Close it when done.
func (r *Registry) TryClone() (*Registry, error) {
	if err := r.acquire("clone"); err != nil {
		return nil, err
	}
	defer r.release()
	sel, err := r.sel.clone()
	if err != nil {
		return nil, fmt.Errorf("poller: clone registry: %w", err)
	}
	return &Registry{sel: sel, queue: r.queue, cloned: true}, nil
}

// Close closes a Registry made by TryClone. The Registry of a Poll closes
// with the Poll: closing it directly returns ErrNotCloned.
func (r *Registry) Close() error {
	if !r.cloned {
		return ErrNotCloned
	}
	first, closeNow := r.sel.ref.Close()
	if !first {
		return ErrClosed
	}
	if closeNow {
		r.destroy()
	}
	return nil
}

// acquire takes a reference on the selector for one operation.
func (r *Registry) acquire(op string) error {
	if r == nil || r.sel == nil {
		return fmt.Errorf("poller: %s: nil registry: %w", op, ErrClosed)
	}
	if !r.sel.ref.Acquire() {
		return fmt.Errorf("poller: %s: %w", op, ErrClosed)
	}
	return nil
}

// release gives back a reference and closes the selector if it was the last
// one after Close.
func (r *Registry) release() {
	if r.sel.ref.Release() {
		r.destroy()
	}
}

// destroy releases the kernel descriptors once nothing uses them; the
// Poll's own registry also closes the readiness queue, letting go of every
// node still in it. No Poll call is running (each holds a reference), so
// this goroutine may act as the queue's consumer.
func (r *Registry) destroy() {
	if !r.cloned && r.queue != nil {
		r.queue.Close()
	}
	r.sel.destroy()
}

func (r *Registry) registerFd(fd int, t Token, i Interest) error {
	if err := checkFd("register", fd, i); err != nil {
		return err
	}
	if err := r.acquire("register"); err != nil {
		return err
	}
	defer r.release()
	if err := r.sel.register(fd, t, i); err != nil {
		return fmt.Errorf("poller: register fd %d: %w", fd, err)
	}
	return nil
}

func (r *Registry) reregisterFd(fd int, t Token, i Interest) error {
	if err := checkFd("reregister", fd, i); err != nil {
		return err
	}
	if err := r.acquire("reregister"); err != nil {
		return err
	}
	defer r.release()
	if err := r.sel.reregister(fd, t, i); err != nil {
		return fmt.Errorf("poller: reregister fd %d: %w", fd, err)
	}
	return nil
}

func (r *Registry) deregisterFd(fd int) error {
	if fd < 0 {
		return fmt.Errorf("poller: deregister fd %d: %w", fd, ErrInvalidSource)
	}
	if err := r.acquire("deregister"); err != nil {
		return err
	}
	defer r.release()
	if err := r.sel.deregister(fd); err != nil {
		return fmt.Errorf("poller: deregister fd %d: %w", fd, err)
	}
	return nil
}

func checkFd(op string, fd int, i Interest) error {
	if fd < 0 {
		return fmt.Errorf("poller: %s fd %d: %w", op, fd, ErrInvalidSource)
	}
	if !i.valid() {
		return fmt.Errorf("poller: %s fd %d with %v: %w", op, fd, i, ErrInvalidInterest)
	}
	return nil
}

// errnoErr maps the kernel's answers to misuse onto this package's errors,
// keeping the errno in the chain, and makes EBADF an invalid source.
func errnoErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EEXIST):
		return fmt.Errorf("%w (%w)", ErrAlreadyRegistered, err)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%w (%w)", ErrNotRegistered, err)
	case errors.Is(err, syscall.EBADF):
		return fmt.Errorf("%w (%w)", ErrInvalidSource, err)
	}
	return err
}
