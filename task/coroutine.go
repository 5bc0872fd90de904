package task

import "iter"

// Go has no async/await, so a future written by hand is a state machine:
// each Poll picks up where the last one left off. Coroutine lets a task be
// written as straight-line code instead. The body runs on a coroutine (a
// goroutine that only runs while the future's Poll waits for it, made
// with iter.Pull): Await polls a future with the Context of the current
// Poll, and when the future is pending it suspends the body, so Poll
// returns pending; the next Poll resumes the body, which polls the future
// again.
//
// The cost: a coroutine future is a goroutine, parked while the future is
// pending (a few kilobytes of stack, made at the first Poll, gone when the
// body returns or the future is dropped), and every suspension is a switch
// between two goroutines. A hand-written future is neither: a task of one
// costs no goroutine at all. BenchmarkYieldLoop measures the difference
// (on a 2.5 GHz Xeon: about 13 ns per suspension by hand, 170-200 ns by
// coroutine; a short coroutine future costs 10 allocations and about 2 us
// more than its hand-written twin, mostly the goroutine). Use coroutines
// for code that reads better straight, and hand-written futures for the
// hot path and for tasks counted in the tens of thousands.

// Co is the handle a coroutine's body awaits futures with. It is valid only
// on the body's own goroutine, while the body runs.
type Co struct {
	cx      *Context            // the Context of the Poll under way; nil between polls
	yield   func(struct{}) bool // suspends the body; false: the future was dropped
	dropped bool                // Drop has begun: the body must unwind
}

// unwinding is the panic value Await uses to unwind the body of a dropped
// coroutine; the coroutine's wrapper recovers it and nothing else.
type unwinding struct{}

// Coroutine returns a future that runs body, the value body returns being
// the future's. Inside body, Await waits for other futures. A panic in body
// is a panic of the Poll that resumed it, with the same value (an executor
// makes it the task's error). Dropping the future while the body is
// suspended makes the Await it is suspended in drop the future it awaits
// and unwind the body by panicking: the body's deferred calls run, and a
// body that recovers everything must let that panic go on (or return). The
// future must be polled to completion or dropped, or its goroutine stays
// parked for ever. A runtime.Goexit in body (testing's FailNow) is passed
// on to the goroutine that polled, as iter.Pull does.
func Coroutine[T any](body func(co *Co) T) Future[T] {
	return &coroutine[T]{body: body}
}

type coroutine[T any] struct {
	co   Co
	body func(*Co) T
	// next and stop drive the body's goroutine: made by the first Poll,
	// nil again once the body is over.
	next  func() (struct{}, bool)
	stop  func()
	state coState
	value T
	// panicVal is what body panicked with, to panic with in Poll (or Drop).
	panicked bool
	panicVal any
}

type coState uint8

const (
	coFresh    coState = iota // not polled yet
	coRunning                 // started, suspended between polls
	coReturned                // body returned or panicked; Poll said so
	coDropped                 // Drop ended it
)

// run is the body's goroutine: it runs the body and recovers whatever
// stops it early, so iter.Pull sees a normal return.
func (c *coroutine[T]) run(yield func(struct{}) bool) {
	c.co.yield = yield
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(unwinding); !ok {
				c.panicked, c.panicVal = true, v
			}
		}
	}()
	c.value = c.body(&c.co)
}

// Poll resumes the body until it awaits a pending future or returns.
func (c *coroutine[T]) Poll(cx *Context) (T, bool) {
	switch c.state {
	case coFresh:
		c.next, c.stop = iter.Pull(c.run)
		c.state = coRunning
	case coReturned:
		return c.value, true
	case coDropped:
		panic("task: Coroutine polled after Drop")
	}
	c.co.cx = cx
	_, suspended := c.next()
	c.co.cx = nil
	if suspended {
		var zero T
		return zero, false
	}
	c.next, c.stop, c.body = nil, nil, nil
	c.state = coReturned
	if c.panicked {
		v := c.panicVal
		c.panicked, c.panicVal = false, nil
		panic(v)
	}
	return c.value, true
}

// Drop ends a body that has not returned: it resumes it, on the caller's
// goroutine's behalf, to unwind it, and returns once its goroutine is gone.
// A panic of the body's deferred calls other than the unwinding is Drop's.
func (c *coroutine[T]) Drop() {
	if c.state == coReturned || c.state == coDropped {
		return
	}
	c.state = coDropped
	c.co.dropped = true
	c.body = nil
	if stop := c.stop; stop != nil {
		c.next, c.stop = nil, nil
		stop()
	}
	if c.panicked {
		v := c.panicVal
		c.panicked, c.panicVal = false, nil
		panic(v)
	}
}

// Await waits for f inside a coroutine's body and returns its value. co
// must be the body's own Co. When the coroutine is dropped while Await
// waits, Await drops f and unwinds the body (see Coroutine).
//
// Await polls f through its interface, so a value that is not already a
// pointer is boxed for it: keep reusable futures (a Yield, a SendFuture, a
// NotifiedFuture) in variables outside a loop to await them without
// allocating.
func Await[T any](co *Co, f Future[T]) T {
	for {
		if co.dropped {
			Drop(f)
			panic(unwinding{})
		}
		if co.cx == nil {
			panic("task: Await called outside its coroutine's body")
		}
		if v, ok := f.Poll(co.cx); ok {
			return v
		}
		if !co.yield(struct{}{}) {
			Drop(f)
			panic(unwinding{})
		}
	}
}
