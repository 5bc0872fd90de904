package task

// Mutex is a lock that tasks wait for without blocking their goroutine:
// Lock returns a future. It is a Semaphore with one permit, so waiters get
// the lock in the order they asked for it. Unlock hands the lock to the
// first waiter directly. Any task or goroutine may Unlock a locked Mutex,
// as with sync.Mutex.
//
// The zero Mutex is unlocked. A Mutex must not be copied after first use.
type Mutex struct {
	p permits // p.n is 0 unlocked, -1 locked (bias 1)
}

// mutexBias makes the zero permits count one free permit.
const mutexBias = 1

// Lock returns a future that is ready once the caller holds m. Dropping it
// while it waits leaves the queue; dropping it after it was handed the
// lock, but before it was polled, unlocks m. Poll it again once it is
// ready (and m was unlocked since) to lock m again without allocating.
func (m *Mutex) Lock() *AcquireFuture { return m.p.acquire(1, mutexBias) }

// TryLock locks m if it is unlocked and nobody waits for it, and reports
// whether it did.
func (m *Mutex) TryLock() bool { return m.p.tryAcquire(1, mutexBias) }

// Unlock unlocks m, handing it to the first waiter if there is one. It
// panics if m is not locked.
func (m *Mutex) Unlock() {
	m.p.mu.Lock()
	if m.p.n+mutexBias >= 1 {
		m.p.mu.Unlock()
		panic("task: Unlock of unlocked Mutex")
	}
	m.p.n++
	m.p.grantAndUnlock(mutexBias)
}
