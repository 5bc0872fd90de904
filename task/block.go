package task

import "context"

// parker is the Waker of a goroutine blocked in Block: a wake leaves a token
// in a one-slot channel, so a wake before the goroutine sleeps is not lost
// and many wakes cost one.
type parker struct{ ch chan struct{} }

func (p *parker) Wake() {
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

// Block polls f on the calling goroutine, sleeping between polls until f's
// waker is woken, and returns f's value. When ctx is done first it drops f
// and returns ctx's error. It is for goroutines outside any executor (main,
// tests, an ordinary handler); a task must never call it, since it would
// block the executor's goroutine.
func Block[T any](ctx context.Context, f Future[T]) (T, error) {
	if f == nil {
		var zero T
		return zero, ErrNilFuture
	}
	p := &parker{ch: make(chan struct{}, 1)}
	cx := NewContext(Waker{w: p})
	done := ctx.Done()
	for {
		cx.reset()
		if v, ok := f.Poll(cx); ok {
			return v, nil
		}
		select {
		case <-p.ch:
		case <-done:
			Drop(f)
			var zero T
			return zero, ctx.Err()
		}
	}
}
