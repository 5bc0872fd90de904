package poller

import (
	"fmt"

	"github.com/metalio/metal/internal/fdref"
)

// Waker interrupts a Poll from any goroutine: each Wake makes the Poll
// deliver a readable event carrying the Waker's token.
//
// Wakes coalesce (several Wakes before the Poll wakes up may yield one
// event) but none is lost: a Wake that returns nil is followed by an event
// the next time, or the current time, the Poll waits. Wake never blocks and
// allocates nothing. A Poll may have several Wakers, each with its own
// token.
//
// On Linux a Waker is an eventfd, on macOS, FreeBSD and DragonFly a kqueue
// EVFILT_USER filter with an identifier of its own, elsewhere a pipe.
type Waker struct {
	ref fdref.State // guards the descriptors of sys against Wake after Close
	sys wakerSys
}

// NewWaker returns a Waker whose wake-ups arrive at r's Poll as readable
// events with token t.
func NewWaker(r *Registry, t Token) (*Waker, error) {
	if err := r.acquire("new waker"); err != nil {
		return nil, err
	}
	defer r.release()
	w := &Waker{}
	if err := w.sys.open(r, t); err != nil {
		return nil, fmt.Errorf("poller: new waker: %w", err)
	}
	return w, nil
}

// Wake makes the Poll return a readable event with the Waker's token. After
// Close it returns ErrClosed.
func (w *Waker) Wake() error {
	if !w.ref.Acquire() {
		return ErrClosed
	}
	err := w.sys.wake()
	if w.ref.Release() {
		w.sys.close()
	}
	if err != nil {
		return fmt.Errorf("poller: wake: %w", err)
	}
	return nil
}

// Close releases the Waker. A second Close returns ErrClosed.
func (w *Waker) Close() error {
	first, closeNow := w.ref.Close()
	if !first {
		return ErrClosed
	}
	if closeNow {
		w.sys.close()
	}
	return nil
}
