package task

import "go.uber.org/atomic"

// A oneshot carries one value from one sender to one receiver. Both sides
// are the same memory (OneshotSender and OneshotReceiver are two views of
// one oneshot), so NewOneshot allocates once, and there is no lock: one
// atomic state word decides every race.
type oneshot[T any] struct {
	state atomic.Uint32
	// value belongs to the sender until it sets osSent, then to the
	// receiver.
	value T
	// rxWaker belongs to the receiver while osRxWaker is clear; while it
	// is set the sender may read it (and nobody writes it).
	rxWaker Waker
}

// The oneshot state word, bit by bit:
//
//	bit 0  osRxWaker   rxWaker holds the receiver's waker; set and cleared
//	                   by the receiver, read as a signal by the sender
//	bit 1  osClaimed   the sender has begun Send or Close; a second Send or
//	                   Close fails (set once, by the sender)
//	bit 2  osSent      the value is written and belongs to the receiver
//	                   (set once, by the sender, after osClaimed)
//	bit 3  osTxClosed  the sender closed without sending (set once, by the
//	                   sender, with osClaimed)
//	bit 4  osRxClosed  the receiver closed: a Send not yet finished fails;
//	                   a value sent before stays receivable (set once, by
//	                   the receiver)
//	bit 5  osReceived  the receiver has taken the value (set once, by the
//	                   receiver, after osSent)
//
// osSent and osTxClosed are the sender's last words: after setting either
// it touches nothing but rxWaker, which it only reads, and only when
// osRxWaker was set in the same transition.
const (
	osRxWaker uint32 = 1 << iota
	osClaimed
	osSent
	osTxClosed
	osRxClosed
	osReceived
)

// OneshotSender is the sending side of a oneshot, made by NewOneshot. Its
// methods may be called from any goroutine.
type OneshotSender[T any] oneshot[T]

// OneshotReceiver is the receiving side of a oneshot, made by NewOneshot:
// a Future of the Result the sender sends, whose Err is ErrClosed when the
// sender closed without sending. One goroutine at a time may Poll it or
// call TryRecv; Close may be called from anywhere.
//
// Dropping the receiver closes it, so the sender can tell (IsClosed) that
// nobody waits any more: a task aborted while it awaits the receiver, or a
// Select in which it lost. To offer the receiver to one Select after
// another, give each FutureFunc(rx.Poll), which has no Drop.
type OneshotReceiver[T any] oneshot[T]

// NewOneshot returns the two sides of a channel for one value, in one
// allocation. Send on the sender completes the receiver's future; Close on
// the sender (instead of sending) completes it with ErrClosed, which is how
// a sender that gives up must say so: Go cannot notice a sender that is
// merely forgotten, and its receiver would wait forever.
func NewOneshot[T any]() (*OneshotSender[T], *OneshotReceiver[T]) {
	o := &oneshot[T]{}
	return (*OneshotSender[T])(o), (*OneshotReceiver[T])(o)
}

// Send sends v and wakes the receiver. It fails with ErrClosed, and v is
// not delivered, when the receiver has closed or when Send or Close was
// called before. It never waits.
func (tx *OneshotSender[T]) Send(v T) error {
	o := (*oneshot[T])(tx)
	// Claim the sending side: 0 -> osClaimed.
	for {
		s := o.state.Load()
		if s&(osClaimed|osRxClosed) != 0 {
			return ErrClosed
		}
		if o.state.CompareAndSwap(s, s|osClaimed) {
			break
		}
	}
	o.value = v
	// Publish the value: osSent 0 -> 1, unless the receiver closed
	// meanwhile.
	for {
		s := o.state.Load()
		if s&osRxClosed != 0 {
			var zero T
			o.value = zero
			return ErrClosed
		}
		if o.state.CompareAndSwap(s, s|osSent) {
			if s&osRxWaker != 0 {
				o.rxWaker.Wake()
			}
			return nil
		}
	}
}

// Close closes the sender without sending: the receiver's future completes
// with ErrClosed. After Send, or a first Close, it does nothing.
func (tx *OneshotSender[T]) Close() {
	o := (*oneshot[T])(tx)
	// osClaimed|osTxClosed 0 -> 1 together.
	for {
		s := o.state.Load()
		if s&osClaimed != 0 {
			return
		}
		if o.state.CompareAndSwap(s, s|osClaimed|osTxClosed) {
			if s&osRxWaker != 0 {
				o.rxWaker.Wake()
			}
			return
		}
	}
}

// IsClosed reports whether Send would fail: the receiver closed, or the
// sender already sent or closed. A producer can check it to stop working
// on a value nobody will receive.
func (tx *OneshotSender[T]) IsClosed() bool {
	return (*oneshot[T])(tx).state.Load()&(osClaimed|osRxClosed) != 0
}

// Poll makes the receiver a Future: ready with the value once it is sent,
// or with ErrClosed once the sender closed (or the receiver did, before a
// value arrived). Polling it again after it was ready gives ErrClosed.
func (rx *OneshotReceiver[T]) Poll(cx *Context) (Result[T], bool) {
	o := (*oneshot[T])(rx)
	s := o.state.Load()
	for {
		if s&(osSent|osTxClosed|osRxClosed) != 0 {
			if !cx.Proceed() {
				return Result[T]{}, false
			}
			v, err := o.take(s)
			return Result[T]{Value: v, Err: err}, true
		}
		if s&osRxWaker != 0 {
			if o.rxWaker.WillWake(cx.Waker()) {
				return Result[T]{}, false
			}
			// Take the field back to replace it: osRxWaker 1 -> 0.
			if !o.state.CompareAndSwap(s, s&^osRxWaker) {
				s = o.state.Load()
				continue
			}
			s &^= osRxWaker
		}
		o.rxWaker = cx.Waker()
		// Publish the waker: osRxWaker 0 -> 1, unless the sender finished
		// meanwhile (then loop and take what it left).
		if o.state.CompareAndSwap(s, s|osRxWaker) {
			return Result[T]{}, false
		}
		s = o.state.Load()
	}
}

// take is the receiver's read of a finished oneshot (s has osSent,
// osTxClosed or osRxClosed).
func (o *oneshot[T]) take(s uint32) (T, error) {
	var zero T
	if s&osSent == 0 || s&osReceived != 0 {
		return zero, ErrClosed
	}
	v := o.value
	o.value = zero
	// osReceived 0 -> 1; only the receiver writes the word after osSent,
	// except osRxWaker and osRxClosed, which are its own too.
	for !o.state.CompareAndSwap(s, s|osReceived) {
		s = o.state.Load()
	}
	return v, nil
}

// TryRecv returns the value if it has been sent, ErrEmpty if not yet, and
// ErrClosed if it never will be (or was received already). It does not
// spend the budget.
func (rx *OneshotReceiver[T]) TryRecv() (T, error) {
	o := (*oneshot[T])(rx)
	s := o.state.Load()
	if s&(osSent|osTxClosed|osRxClosed) == 0 {
		var zero T
		return zero, ErrEmpty
	}
	return o.take(s)
}

// Close closes the receiver: a Send that has not finished fails with
// ErrClosed. A value sent before Close can still be received.
func (rx *OneshotReceiver[T]) Close() {
	o := (*oneshot[T])(rx)
	// osRxClosed 0 -> 1.
	for {
		s := o.state.Load()
		if s&osRxClosed != 0 || o.state.CompareAndSwap(s, s|osRxClosed) {
			return
		}
	}
}

// Drop closes the receiver; the value, if one was sent, is forgotten.
func (rx *OneshotReceiver[T]) Drop() {
	rx.Close()
	o := (*oneshot[T])(rx)
	if s := o.state.Load(); s&osSent != 0 && s&osReceived == 0 {
		_, _ = o.take(s)
	}
}
