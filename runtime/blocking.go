package runtime

import (
	"sync"
	"time"

	"github.com/metalio/metal/task"
)

// Blocking work (a file read, a cgo call, a lock held by code that knows
// nothing of tasks) must not run on a worker: it would stop every task
// queued behind it. SpawnBlocking runs it on a pool of goroutines instead,
// started on demand up to a bound and ended after idling for a while, as
// tokio's blocking pool does. A blocking task is a task.Task like any
// other, scheduled by the pool instead of the workers, so its JoinHandle,
// Abort (before it starts) and shutdown behave the same.

// blockingKeepAlive is how long an idle pool goroutine waits for work
// before it ends.
const blockingKeepAlive = 10 * time.Second

type blockingPool struct {
	max  int
	work chan *task.Task // unbuffered: a send succeeds only into an idle goroutine
	quit chan struct{}

	mu      sync.Mutex
	backlog []*task.Task
	n       int // live goroutines
	closed  bool
	wg      sync.WaitGroup
}

func newBlockingPool(max int) *blockingPool {
	return &blockingPool{max: max, work: make(chan *task.Task), quit: make(chan struct{})}
}

// Schedule hands t to an idle goroutine, starts one, or queues t behind
// the running ones when the pool is full.
func (p *blockingPool) Schedule(t *task.Task) {
	select {
	case p.work <- t:
		return
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		t.Shutdown(ErrShutdown)
		return
	}
	if p.n < p.max {
		p.n++
		p.wg.Add(1)
		go p.loop(t)
		return
	}
	p.backlog = append(p.backlog, t)
}

func (p *blockingPool) loop(t *task.Task) {
	defer p.wg.Done()
	idle := time.NewTimer(blockingKeepAlive)
	defer idle.Stop()
	for {
		for t != nil {
			t.Run()
			t = p.next()
		}
		idle.Reset(blockingKeepAlive)
		select {
		case t = <-p.work:
		case <-idle.C:
			p.mu.Lock()
			// A task queued between the timer firing and the lock is ours.
			if len(p.backlog) == 0 {
				p.n--
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			t = p.next()
		case <-p.quit:
			p.mu.Lock()
			p.n--
			p.mu.Unlock()
			return
		}
	}
}

func (p *blockingPool) next() *task.Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.backlog) == 0 {
		return nil
	}
	t := p.backlog[0]
	p.backlog[0] = nil
	p.backlog = p.backlog[1:]
	return t
}

func (p *blockingPool) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// shutdown waits for the running blocking work to return. Queued work was
// cancelled with the other tasks (blocking tasks join the live set at
// once, see SpawnBlocking); what is still queued is cancelled here too.
func (p *blockingPool) shutdown() {
	p.mu.Lock()
	p.closed = true
	backlog := p.backlog
	p.backlog = nil
	p.mu.Unlock()
	for _, t := range backlog {
		t.Shutdown(ErrShutdown)
	}
	close(p.quit)
	p.wg.Wait()
}

// SpawnBlocking runs fn on the runtime's pool of goroutines for blocking
// work and returns its handle. Abort stops it only before it starts: a
// function that has started runs to its end, and Shutdown waits for it.
func SpawnBlocking[T any](rt *Runtime, fn func() T) *task.JoinHandle[T] {
	var f task.Future[T]
	if fn != nil {
		f = task.FutureFunc[T](func(*task.Context) (T, bool) { return fn(), true })
	}
	t, h := task.New(f, rt.blocking)
	// Added to the live set at once, not watched: a blocking task never
	// waits, so it would never join, and the pool's backlog is no queue
	// Shutdown drains before it cancels the live set.
	if !rt.own(t, 0, false) {
		return h
	}
	rt.blocking.Schedule(t)
	return h
}
