package task

import (
	"sync"
	"testing"
)

// Each benchmark here sets a task primitive beside the plain-Go way of doing
// the same thing, so one run gives the ratio. "Polled" benchmarks drive
// futures by hand on one goroutine with a context whose budget is refilled
// before each poll, as an executor does: they measure the primitive, not a
// scheduler. "Across goroutines" benchmarks park a goroutine between polls
// on a one-slot channel (what Block does, minus its per-call allocation),
// against goroutines blocking on a Go channel or a sync.Cond.

// nopWaker wakes nothing; polled benchmarks poll again anyway.
type nopWaker struct{}

func (*nopWaker) Wake() {}

func benchContext() *Context { return NewContext(NewWaker(&nopWaker{})) }

// parkWaker parks a goroutine between polls: Wake leaves a token in a
// one-slot channel.
type parkWaker struct{ ch chan struct{} }

func newParkWaker() *parkWaker { return &parkWaker{ch: make(chan struct{}, 1)} }

func (p *parkWaker) Wake() {
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

// parkPoller polls futures on a plain goroutine, sleeping on its waker.
type parkPoller struct {
	p  *parkWaker
	cx *Context
}

func newParkPoller() *parkPoller {
	p := newParkWaker()
	return &parkPoller{p: p, cx: NewContext(NewWaker(p))}
}

func parkOn[T any](pp *parkPoller, f Future[T]) T {
	for {
		pp.cx.reset()
		if v, ok := f.Poll(pp.cx); ok {
			return v
		}
		<-pp.p.ch
	}
}

var (
	benchOneshotSink *OneshotReceiver[int]
	benchChanSink    chan int
)

// BenchmarkOneshot: make a one-value channel, send, receive.
func BenchmarkOneshot(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		cx := benchContext()
		for i := 0; i < b.N; i++ {
			tx, rx := NewOneshot[int]()
			benchOneshotSink = rx
			if tx.Send(i) != nil {
				b.Fatal("send")
			}
			cx.reset()
			if r, ok := rx.Poll(cx); !ok || r.Value != i {
				b.Fatal("recv")
			}
		}
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ch := make(chan int, 1)
			benchChanSink = ch
			ch <- i
			if <-ch != i {
				b.Fatal("recv")
			}
		}
	})
}

// BenchmarkOneshotAcrossGoroutines: a long-lived goroutine answers each
// request through a fresh oneshot (a request/response round trip).
func BenchmarkOneshotAcrossGoroutines(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		reqs := make(chan *OneshotSender[int], 1)
		go func() {
			i := 0
			for tx := range reqs {
				_ = tx.Send(i)
				i++
			}
		}()
		pp := newParkPoller()
		for i := 0; i < b.N; i++ {
			tx, rx := NewOneshot[int]()
			reqs <- tx
			if r := parkOn(pp, Future[Result[int]](rx)); r.Value != i {
				b.Fatal("recv")
			}
		}
		close(reqs)
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		reqs := make(chan chan int, 1)
		go func() {
			i := 0
			for ch := range reqs {
				ch <- i
				i++
			}
		}()
		for i := 0; i < b.N; i++ {
			ch := make(chan int, 1)
			reqs <- ch
			if <-ch != i {
				b.Fatal("recv")
			}
		}
		close(reqs)
	})
}

// BenchmarkChan: send one value into a channel of 16 and receive it.
func BenchmarkChan(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		tx, rx := NewChan[int](16)
		cx := benchContext()
		send, recv := tx.Send(0), rx.Recv()
		for i := 0; i < b.N; i++ {
			send.Reset(i)
			cx.reset()
			if _, ok := send.Poll(cx); !ok {
				b.Fatal("send")
			}
			if r, ok := recv.Poll(cx); !ok || r.Value != i {
				b.Fatal("recv")
			}
		}
	})
	b.Run("task-try", func(b *testing.B) {
		b.ReportAllocs()
		tx, rx := NewChan[int](16)
		for i := 0; i < b.N; i++ {
			if tx.TrySend(i) != nil {
				b.Fatal("send")
			}
			if v, err := rx.TryRecv(); err != nil || v != i {
				b.Fatal("recv")
			}
		}
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan int, 16)
		for i := 0; i < b.N; i++ {
			ch <- i
			if <-ch != i {
				b.Fatal("recv")
			}
		}
	})
}

// BenchmarkChanAcrossGoroutines: one producer goroutine streams b.N values
// through a channel of 16 to a consumer goroutine; both wait when they
// must (back-pressure and empty buffer).
func BenchmarkChanAcrossGoroutines(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		tx, rx := NewChan[int](16)
		go func() {
			pp := newParkPoller()
			send := tx.Send(0)
			for i := 0; i < b.N; i++ {
				send.Reset(i)
				parkOn(pp, Future[error](send))
			}
			tx.Close()
		}()
		pp := newParkPoller()
		var recv Future[Result[int]] = rx.Recv()
		n := 0
		for parkOn(pp, recv).Err == nil {
			n++
		}
		if n != b.N {
			b.Fatal("lost values")
		}
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan int, 16)
		go func() {
			for i := 0; i < b.N; i++ {
				ch <- i
			}
			close(ch)
		}()
		n := 0
		for range ch {
			n++
		}
		if n != b.N {
			b.Fatal("lost values")
		}
	})
}

// BenchmarkNotify: one notification, sent and consumed on one goroutine.
func BenchmarkNotify(b *testing.B) {
	b.Run("task-permit", func(b *testing.B) {
		b.ReportAllocs()
		var n Notify
		cx := benchContext()
		f := n.Notified()
		for i := 0; i < b.N; i++ {
			n.NotifyOne()
			cx.reset()
			if _, ok := f.Poll(cx); !ok {
				b.Fatal("not notified")
			}
		}
	})
	b.Run("task-wait-wake", func(b *testing.B) {
		b.ReportAllocs()
		var n Notify
		cx := benchContext()
		f := n.Notified()
		for i := 0; i < b.N; i++ {
			cx.reset()
			if _, ok := f.Poll(cx); ok {
				b.Fatal("ready too soon")
			}
			n.NotifyOne()
			if _, ok := f.Poll(cx); !ok {
				b.Fatal("not notified")
			}
		}
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan struct{}, 1)
		for i := 0; i < b.N; i++ {
			select {
			case ch <- struct{}{}:
			default:
			}
			<-ch
		}
	})
}

// BenchmarkNotifyAcrossGoroutines: two goroutines take turns, each waking
// the other; one op is one turn each.
func BenchmarkNotifyAcrossGoroutines(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		var ping, pong Notify
		done := make(chan struct{})
		go func() {
			pp := newParkPoller()
			f := ping.Notified()
			for i := 0; i < b.N; i++ {
				parkOn(pp, Future[struct{}](f))
				pong.NotifyOne()
			}
			close(done)
		}()
		pp := newParkPoller()
		f := pong.Notified()
		for i := 0; i < b.N; i++ {
			ping.NotifyOne()
			parkOn(pp, Future[struct{}](f))
		}
		<-done
	})
	b.Run("cond", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		turn := 0 // even: main's turn, odd: the other's
		done := make(chan struct{})
		go func() {
			mu.Lock()
			for i := 0; i < b.N; i++ {
				for turn%2 == 0 {
					cond.Wait()
				}
				turn++
				cond.Signal()
			}
			mu.Unlock()
			close(done)
		}()
		mu.Lock()
		for i := 0; i < b.N; i++ {
			turn++
			cond.Signal()
			for turn%2 == 1 {
				cond.Wait()
			}
		}
		mu.Unlock()
		<-done
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		ping, pong := make(chan struct{}), make(chan struct{})
		go func() {
			for i := 0; i < b.N; i++ {
				<-ping
				pong <- struct{}{}
			}
		}()
		for i := 0; i < b.N; i++ {
			ping <- struct{}{}
			<-pong
		}
	})
}

// BenchmarkSemaphore: acquire a permit and release it on one goroutine.
func BenchmarkSemaphore(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		s := NewSemaphore(1)
		cx := benchContext()
		acquire := s.Acquire(1)
		for i := 0; i < b.N; i++ {
			cx.reset()
			if _, ok := acquire.Poll(cx); !ok {
				b.Fatal("acquire")
			}
			s.Release(1)
		}
	})
	b.Run("task-wait-wake", func(b *testing.B) {
		// The permit is held; the acquire waits, and the Release grants
		// it and wakes the waiter.
		b.ReportAllocs()
		s := NewSemaphore(0)
		cx := benchContext()
		acquire := s.Acquire(1)
		for i := 0; i < b.N; i++ {
			cx.reset()
			if _, ok := acquire.Poll(cx); ok {
				b.Fatal("acquired without a permit")
			}
			s.Release(1)
			if _, ok := acquire.Poll(cx); !ok {
				b.Fatal("not granted")
			}
		}
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		sem := make(chan struct{}, 1)
		for i := 0; i < b.N; i++ {
			sem <- struct{}{}
			<-sem
		}
	})
}

// BenchmarkSemaphoreContended: goroutines (GOMAXPROCS of them, RunParallel)
// contend for 1 permit, holding it for nothing but the release.
func BenchmarkSemaphoreContended(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		s := NewSemaphore(1)
		b.RunParallel(func(pb *testing.PB) {
			pp := newParkPoller()
			acquire := s.Acquire(1)
			for pb.Next() {
				parkOn(pp, Future[struct{}](acquire))
				s.Release(1)
			}
		})
	})
	b.Run("gochan", func(b *testing.B) {
		b.ReportAllocs()
		sem := make(chan struct{}, 1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sem <- struct{}{}
				<-sem
			}
		})
	})
	b.Run("sync.Mutex", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		held := 0
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				held++
				mu.Unlock()
			}
		})
	})
}

// handYielder is the hand-written twin of a coroutine that awaits a Yield
// in a loop: the loop's counter is a field, and the Yield is embedded.
type handYielder struct {
	y    Yield
	left int
}

func (h *handYielder) Poll(cx *Context) (int, bool) {
	for h.left > 0 {
		if _, ok := h.y.Poll(cx); !ok {
			return 0, false
		}
		h.left--
	}
	return 0, true
}

func yieldingCoroutine(n int) Future[int] {
	return Coroutine(func(co *Co) int {
		var y Yield
		for range n {
			Await(co, &y)
		}
		return 0
	})
}

// pollToEnd polls f until it is ready and returns the number of polls.
func pollToEnd[T any](cx *Context, f Future[T]) int {
	for polls := 1; ; polls++ {
		cx.reset()
		if _, ok := f.Poll(cx); ok {
			return polls
		}
	}
}

// BenchmarkYieldLoop: one future yields b.N times; one op is one suspension
// and resumption. The hand-written future returns from Poll and is called
// again; the coroutine switches to its goroutine and back.
func BenchmarkYieldLoop(b *testing.B) {
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		f := &handYielder{left: b.N}
		if pollToEnd(benchContext(), Future[int](f)) != b.N+1 {
			b.Fatal("polls")
		}
	})
	b.Run("coroutine", func(b *testing.B) {
		b.ReportAllocs()
		if pollToEnd(benchContext(), yieldingCoroutine(b.N)) != b.N+1 {
			b.Fatal("polls")
		}
	})
}

// BenchmarkYieldLoopWhole: one op is a whole future, made and polled to
// completion through 8 yields, so the coroutine's goroutine and closures
// are counted.
func BenchmarkYieldLoopWhole(b *testing.B) {
	const yields = 8
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		cx := benchContext()
		for i := 0; i < b.N; i++ {
			pollToEnd(cx, Future[int](&handYielder{left: yields}))
		}
	})
	b.Run("coroutine", func(b *testing.B) {
		b.ReportAllocs()
		cx := benchContext()
		for i := 0; i < b.N; i++ {
			pollToEnd(cx, yieldingCoroutine(yields))
		}
	})
}
