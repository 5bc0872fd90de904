package task

import "sync"

// A bounded channel of values from many senders to one receiver, with
// back-pressure: a send into a full channel waits, as a future, in a FIFO of
// senders. The pieces:
//
//   - A ring buffer of the channel's capacity, and a lock around everything.
//   - Senders that find the buffer full (or other senders already waiting,
//     so nobody overtakes them) queue their SendFuture, value inside. When
//     the receiver frees a slot it moves the first waiting sender's value
//     into the buffer itself and wakes that sender to tell it the send is
//     done. So a slot is never reserved for a sender that may never come
//     back, and a sender that gives up (Drop) simply leaves the queue with
//     its value unsent.
//   - The receiver leaves its waker when it finds the buffer empty; the
//     next send takes it and wakes it.
type chanCore[T any] struct {
	mu      sync.Mutex
	buf     []T // ring of len(buf) == capacity slots
	head    int // index of the oldest value
	count   int // values in buf
	closed  bool
	senders waitList[T] // non-empty only while buf is full
	rxWaker Waker       // the receiver's, while it waits for a value
}

// Sender is the sending side of a channel made by NewChan. Any number of
// goroutines and tasks may use one Sender at once.
type Sender[T any] chanCore[T]

// Receiver is the receiving side of a channel made by NewChan. It belongs
// to one task (or goroutine) at a time: several futures may receive from
// it in turn, but only the one polled last is woken.
type Receiver[T any] chanCore[T]

// NewChan returns the two sides of a channel that buffers up to capacity
// values; capacity must be at least 1. Values arrive in the order their
// sends completed; sends that had to wait complete in the order they began
// waiting.
//
// Close on either side closes the channel: sends that have not completed
// fail with ErrClosed, and the receiver gets the buffered values and then
// ErrClosed. Go cannot notice a side that is merely forgotten, so the
// senders must Close when they are done (as with a Go channel, the last
// one to finish does it), or the receiver waits for ever.
//
// A capacity below 1 is taken as 1: the channel always buffers, so a send
// completes once its value is in the buffer.
func NewChan[T any](capacity int) (*Sender[T], *Receiver[T]) {
	capacity = max(capacity, 1)
	c := &chanCore[T]{buf: make([]T, capacity)}
	return (*Sender[T])(c), (*Receiver[T])(c)
}

func (c *chanCore[T]) push(v T) {
	c.buf[(c.head+c.count)%len(c.buf)] = v
	c.count++
}

func (c *chanCore[T]) pop() T {
	var zero T
	v := c.buf[c.head]
	c.buf[c.head] = zero
	c.head = (c.head + 1) % len(c.buf)
	c.count--
	return v
}

// takeRxWaker returns the receiver's waker, if it left one, for the caller
// to wake after unlocking.
func (c *chanCore[T]) takeRxWaker() Waker {
	w := c.rxWaker
	c.rxWaker = Waker{}
	return w
}

// hasRoomLocked reports whether a new send may go straight into the
// buffer: there is a free slot and no sender waiting for one before it.
func (c *chanCore[T]) hasRoomLocked() bool {
	return c.senders.front() == nil && c.count < len(c.buf)
}

// TrySend sends v if the channel has room now; it fails with ErrFull if
// not (or if senders are already waiting for room), and with ErrClosed
// once the channel is closed. It never waits and does not spend a budget.
func (tx *Sender[T]) TrySend(v T) error {
	c := (*chanCore[T])(tx)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.hasRoomLocked() {
		c.mu.Unlock()
		return ErrFull
	}
	c.push(v)
	rw := c.takeRxWaker()
	c.mu.Unlock()
	rw.Wake()
	return nil
}

// Send returns a future that sends v: ready with nil once v is in the
// channel, or with ErrClosed if the channel closed before. While the
// channel is full it waits its turn behind the sends that waited before it.
// Dropping the future while it waits withdraws v.
//
// Send allocates the future. To send without allocating, keep it and Reset
// it with the next value once it is ready.
func (tx *Sender[T]) Send(v T) *SendFuture[T] {
	f := &SendFuture[T]{c: (*chanCore[T])(tx)}
	f.w.val = v
	return f
}

// Close closes the channel; see NewChan. Closing twice does nothing.
func (tx *Sender[T]) Close() { (*chanCore[T])(tx).close() }

// IsClosed reports whether the channel is closed.
func (tx *Sender[T]) IsClosed() bool {
	c := (*chanCore[T])(tx)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// SendFuture is a send in progress, made by Sender.Send. Do not copy it
// once it has been polled: the channel holds its address while it waits.
type SendFuture[T any] struct {
	c    *chanCore[T]
	w    waiter[T] // w.val is the value until it is in the channel
	done bool
	err  error
}

// Poll sends the future's value, or waits for room to do so.
func (f *SendFuture[T]) Poll(cx *Context) (error, bool) {
	if f.done {
		return f.err, true
	}
	c := f.c
	c.mu.Lock()
	var err error
	switch f.w.state {
	case waitQueued:
		f.w.rewake(cx.Waker())
		c.mu.Unlock()
		return nil, false
	case waitGranted: // the receiver moved the value into the buffer
	case waitClosed:
		err = ErrClosed
	default: // waitIdle: not tried yet
		if !c.closed && !c.hasRoomLocked() {
			c.senders.pushBack(&f.w, cx.Waker())
			c.mu.Unlock()
			return nil, false
		}
	}
	if !cx.budgetLeft() {
		// Nothing is committed: the next poll finds the state as it is.
		c.mu.Unlock()
		cx.Proceed()
		return nil, false
	}
	cx.Proceed() // budget left: this only counts
	var rw Waker
	if f.w.state == waitIdle {
		if c.closed {
			err = ErrClosed
		} else {
			c.push(f.w.val)
			rw = c.takeRxWaker()
		}
	}
	f.w.state = waitIdle
	var zero T
	f.w.val = zero
	c.mu.Unlock()
	rw.Wake()
	f.done, f.err = true, err
	return err, true
}

// Drop withdraws a send that is waiting for room; its value is not sent.
// A send that completed is not undone.
func (f *SendFuture[T]) Drop() {
	c := f.c
	c.mu.Lock()
	if f.w.state == waitQueued {
		c.senders.remove(&f.w, waitIdle)
	}
	f.w.state = waitIdle
	c.mu.Unlock()
}

// Reset makes f a new send of v, to be polled again: a sender that keeps
// one SendFuture sends without allocating. A send of the old value still
// waiting is withdrawn, as by Drop.
func (f *SendFuture[T]) Reset(v T) {
	f.Drop()
	f.w.val = v
	f.done, f.err = false, nil
}

// Recv returns a future of the next value: ready with it, or with Err
// ErrClosed once the channel is closed and every buffered value has been
// received. The future is a small value that never needs dropping; poll
// it again after it is ready to receive the next value.
func (rx *Receiver[T]) Recv() RecvFuture[T] {
	return RecvFuture[T]{c: (*chanCore[T])(rx)}
}

// TryRecv returns the next value if one is buffered, ErrEmpty if none is
// yet, and ErrClosed once the channel is closed and drained. It does not
// spend a budget.
func (rx *Receiver[T]) TryRecv() (T, error) {
	c := (*chanCore[T])(rx)
	c.mu.Lock()
	if c.count > 0 {
		return c.recvLocked(), nil
	}
	closed := c.closed
	c.mu.Unlock()
	var zero T
	if closed {
		return zero, ErrClosed
	}
	return zero, ErrEmpty
}

// Len returns the number of buffered values.
func (rx *Receiver[T]) Len() int {
	c := (*chanCore[T])(rx)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Close closes the channel; see NewChan. The receiver can still receive
// what is buffered.
func (rx *Receiver[T]) Close() { (*chanCore[T])(rx).close() }

// RecvFuture receives from a channel; see Receiver.Recv. Copying it is
// harmless: it is only a pointer to the channel.
type RecvFuture[T any] struct{ c *chanCore[T] }

// Poll receives the next value, or waits for one.
func (f RecvFuture[T]) Poll(cx *Context) (Result[T], bool) {
	c := f.c
	c.mu.Lock()
	if c.count == 0 && !c.closed {
		if !c.rxWaker.WillWake(cx.Waker()) {
			c.rxWaker = cx.Waker()
		}
		c.mu.Unlock()
		return Result[T]{}, false
	}
	if !cx.budgetLeft() {
		c.mu.Unlock()
		cx.Proceed()
		return Result[T]{}, false
	}
	cx.Proceed() // budget left: this only counts
	if c.count == 0 {
		c.mu.Unlock()
		return Result[T]{Err: ErrClosed}, true
	}
	return Result[T]{Value: c.recvLocked()}, true
}

// recvLocked pops the oldest value, refills the slot from the first
// waiting sender, unlocks, and wakes that sender.
func (c *chanCore[T]) recvLocked() T {
	v := c.pop()
	var sw Waker
	if w := c.senders.front(); w != nil {
		c.push(w.val)
		var zero T
		w.val = zero
		sw = c.senders.remove(w, waitGranted)
	}
	c.mu.Unlock()
	sw.Wake()
	return v
}

func (c *chanCore[T]) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	rw := c.takeRxWaker()
	for {
		// No sender queues once closed is set, so this ends.
		var b wakeBatch
		for w := c.senders.front(); w != nil && !b.full(); w = c.senders.front() {
			b.add(c.senders.remove(w, waitClosed))
		}
		more := c.senders.front() != nil
		c.mu.Unlock()
		b.wake()
		if !more {
			break
		}
		c.mu.Lock()
	}
	rw.Wake()
}
