package poller

import (
	"fmt"
	"sync"

	"github.com/metalio/metal/queue"
)

// Registration is a Source with no file descriptor: readiness comes from
// its SetReadiness, set by any goroutine, and reaches the Poll through a
// lock-free readiness queue (mio 0.6's custom readiness). Register,
// Reregister and Deregister it like any Source; it is edge-triggered unless
// registered with Level or Oneshot.
//
// A Registration belongs to the Poll it was first registered with (or a
// clone of that Poll's Registry) for its whole life; registering it with
// another Poll fails. Close it when done: its events stop, and a Poll that
// still holds its queue node lets go of it on the next drain.
type Registration struct {
	node *queue.Node

	mu         sync.Mutex // serializes Register, Reregister, Deregister, Close
	registered bool
	closed     bool
}

// SetReadiness sets the readiness of its Registration, from any goroutine.
type SetReadiness struct {
	node *queue.Node
}

// NewRegistration returns a Registration and the SetReadiness that drives it.
func NewRegistration() (*Registration, *SetReadiness) {
	n := &queue.Node{}
	return &Registration{node: n}, &SetReadiness{node: n}
}

// Register implements Source.
func (r *Registration) Register(reg *Registry, t Token, i Interest) error {
	return r.update(reg, "register", t, i, func() error {
		if r.registered {
			return ErrAlreadyRegistered
		}
		return nil
	})
}

// Reregister implements Source: it replaces the token and interest, and
// arms a Oneshot registration again.
func (r *Registration) Reregister(reg *Registry, t Token, i Interest) error {
	return r.update(reg, "reregister", t, i, func() error {
		if !r.registered {
			return ErrNotRegistered
		}
		return nil
	})
}

// Deregister implements Source: no events until it is registered again.
func (r *Registration) Deregister(reg *Registry) error {
	if err := reg.acquire("deregister registration"); err != nil {
		return err
	}
	defer reg.release()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return fmt.Errorf("poller: deregister registration: %w", ErrClosed)
	case !r.registered || queue.QueueOf(r.node) != reg.queue:
		return fmt.Errorf("poller: deregister registration: %w", ErrNotRegistered)
	}
	r.node.Update(0, 0, false, false)
	r.registered = false
	return nil
}

func (r *Registration) update(reg *Registry, op string, t Token, i Interest, check func() error) error {
	if !i.valid() {
		return fmt.Errorf("poller: %s registration with %v: %w", op, i, ErrInvalidInterest)
	}
	if err := reg.acquire(op + " registration"); err != nil {
		return err
	}
	defer reg.release()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("poller: %s registration: %w", op, ErrClosed)
	}
	if err := check(); err != nil {
		return fmt.Errorf("poller: %s registration: %w", op, err)
	}
	q := reg.queue
	if !q.Attach(r.node) {
		return fmt.Errorf("poller: %s registration: it belongs to another Poll: %w", op, ErrAlreadyRegistered)
	}
	r.registered = true
	if r.node.Update(uint64(t), uint8(i&kindMask), i.IsLevel(), i.IsOneshot()) {
		q.Enqueue(r.node)
	}
	return nil
}

// Close ends the Registration: no more events, and its SetReadiness
// returns ErrClosed. A second Close returns ErrClosed.
func (r *Registration) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.node.Drop() {
		return ErrClosed
	}
	r.closed = true
	return nil
}

// Set replaces the readiness. If ready names a kind the registration is
// interested in, an event surfaces even if the readiness was already ready
// (unless one is queued already); Set(0) withdraws readiness. It may be
// called before the Registration is registered: the event then surfaces on
// Register. Set never blocks and allocates nothing; it wakes the Poll only
// when the Poll is asleep in the kernel. After the Registration is closed it
// returns ErrClosed.
func (s *SetReadiness) Set(ready Interest) error {
	if ready&^kindMask != 0 {
		return fmt.Errorf("poller: set readiness %v: %w", ready, ErrInvalidInterest)
	}
	enqueue, dropped := s.node.SetReadiness(uint8(ready))
	if dropped {
		return ErrClosed
	}
	if enqueue {
		if q := queue.QueueOf(s.node); q != nil {
			q.Enqueue(s.node)
		}
	}
	return nil
}

// Get returns the readiness last set.
func (s *SetReadiness) Get() Interest { return Interest(s.node.Load().Readiness()) }

// userFlags maps user-space readiness onto Event's kinds, as the kernel's
// would be: priority data is readable too.
func userFlags(ready uint8) eventFlags {
	var f eventFlags
	r := Interest(ready)
	if r&Readable != 0 {
		f |= flagReadable
	}
	if r&Writable != 0 {
		f |= flagWritable
	}
	if r&Priority != 0 {
		f |= flagPriority | flagReadable
	}
	return f
}
