package task

import "sync"

// Semaphore hands out permits to tasks, in the order they asked: a task
// that asks for more permits than are free waits, and so does every task
// that asks after it, even for fewer, so a large request is never starved
// by small ones. The zero Semaphore has no permits; Release adds them.
//
// Permits are counted, not owned: Release(n) may be called by any task or
// goroutine, and may add more permits than were ever acquired.
//
// A Semaphore must not be copied after first use.
type Semaphore struct {
	p permits
}

// NewSemaphore returns a Semaphore with n free permits.
func NewSemaphore(n int) *Semaphore {
	if n < 0 {
		panic("task: negative permits")
	}
	s := &Semaphore{}
	s.p.n = n
	return s
}

// Acquire returns a future that is ready once the caller holds n permits;
// they are the caller's to Release. Dropping the future while it waits
// leaves the queue; dropping it after the permits were granted, but before
// it was polled, releases them. Poll it again once it is ready to acquire
// n more: a loop that keeps one AcquireFuture waits without allocating.
// A request for more permits than will ever be free waits for ever.
func (s *Semaphore) Acquire(n int) *AcquireFuture {
	return s.p.acquire(n, 0)
}

// TryAcquire takes n permits if they are free and nobody waits before the
// caller, and reports whether it did.
func (s *Semaphore) TryAcquire(n int) bool { return s.p.tryAcquire(n, 0) }

// Release adds n permits, and wakes the waiters they satisfy, in order.
func (s *Semaphore) Release(n int) {
	if n < 0 {
		panic("task: negative permits")
	}
	s.p.mu.Lock()
	s.p.n += n
	s.p.grantAndUnlock(0)
}

// Available returns the number of free permits. While a request larger
// than that waits, they are kept for it, and TryAcquire fails.
func (s *Semaphore) Available() int {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.n
}

// permits is the queue of permit requests behind Semaphore and Mutex. The
// permits free are n + bias, where bias is a constant the owner passes to
// every call: 0 for a Semaphore, 1 for a Mutex, whose zero value thus
// starts with its one permit free.
type permits struct {
	mu      sync.Mutex
	n       int
	waiters waitList[struct{}] // w.n: permits wanted
}

func (p *permits) acquire(n, bias int) *AcquireFuture {
	if n < 0 {
		panic("task: negative permits")
	}
	f := &AcquireFuture{p: p, bias: bias}
	f.w.n = n
	return f
}

func (p *permits) tryAcquire(n, bias int) bool {
	if n < 0 {
		panic("task: negative permits")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiters.front() != nil || p.n+bias < n {
		return false
	}
	p.n -= n
	return true
}

// grantAndUnlock grants the waiters at the head of the queue for as long
// as the free permits cover them, unlocks, and wakes them. It relocks to go
// on after each batch of wakes.
func (p *permits) grantAndUnlock(bias int) {
	for {
		var b wakeBatch
		w := p.waiters.front()
		for ; w != nil && w.n <= p.n+bias && !b.full(); w = p.waiters.front() {
			p.n -= w.n
			b.add(p.waiters.remove(w, waitGranted))
		}
		more := w != nil && w.n <= p.n+bias
		p.mu.Unlock()
		b.wake()
		if !more {
			return
		}
		p.mu.Lock()
	}
}

// AcquireFuture is a request for permits, made by Semaphore.Acquire or
// Mutex.Lock. Do not copy it once it has been polled: the semaphore holds
// its address while it waits.
type AcquireFuture struct {
	p    *permits
	bias int
	w    waiter[struct{}] // w.n: permits wanted
}

// Poll is ready once the permits are the caller's.
func (f *AcquireFuture) Poll(cx *Context) (struct{}, bool) {
	p := f.p
	p.mu.Lock()
	switch f.w.state {
	case waitQueued:
		f.w.rewake(cx.Waker())
		p.mu.Unlock()
		return struct{}{}, false
	case waitGranted:
	default: // waitIdle
		if p.waiters.front() != nil || p.n+f.bias < f.w.n {
			p.waiters.pushBack(&f.w, cx.Waker())
			p.mu.Unlock()
			return struct{}{}, false
		}
	}
	if !cx.budgetLeft() {
		p.mu.Unlock()
		cx.Proceed()
		return struct{}{}, false
	}
	cx.Proceed() // budget left: this only counts
	if f.w.state == waitIdle {
		p.n -= f.w.n
	}
	f.w.state = waitIdle
	p.mu.Unlock()
	return struct{}{}, true
}

// Drop leaves the queue, or releases permits granted but not yet taken.
// Either way the waiters behind it may now be satisfied.
func (f *AcquireFuture) Drop() {
	p := f.p
	p.mu.Lock()
	switch f.w.state {
	case waitQueued:
		p.waiters.remove(&f.w, waitIdle)
	case waitGranted:
		p.n += f.w.n
	}
	f.w.state = waitIdle
	p.grantAndUnlock(f.bias)
}
