package task

import (
	"fmt"
	"math/rand/v2"
)

// nilFuture stands in for a nil future given to a combinator: its poll
// panics with an error wrapping ErrNilFuture, so the task it is part of
// ends with an error matching both ErrPanicked and ErrNilFuture.
type nilFuture[T any] struct{ in string }

func (f nilFuture[T]) Poll(*Context) (T, bool) {
	panic(fmt.Errorf("task: %s: %w", f.in, ErrNilFuture))
}

func orNil[T any](f Future[T], in string) Future[T] {
	if f == nil {
		return nilFuture[T]{in}
	}
	return f
}

// Combinators build a future out of others. Each allocates once, when it
// is made, and nothing per poll. Each owns the futures it is given: it
// polls them, forgets those that completed, and when it is itself dropped
// (or, for Select, when one of them wins) it drops those that did not.

// Ready returns a future that is ready with v at its first poll.
func Ready[T any](v T) Future[T] { return readyFuture[T]{v: v} }

type readyFuture[T any] struct{ v T }

func (r readyFuture[T]) Poll(*Context) (T, bool) { return r.v, true }

// Pending returns a future that is never ready and never wakes anyone:
// a Select branch that is switched off, a task that only ends by Abort.
func Pending[T any]() Future[T] { return pendingFuture[T]{} }

type pendingFuture[T any] struct{}

func (pendingFuture[T]) Poll(*Context) (T, bool) {
	var zero T
	return zero, false
}

// Map returns a future of fn applied to f's value. fn runs once, in the
// poll that finds f ready.
func Map[T, U any](f Future[T], fn func(T) U) Future[U] {
	return &mapFuture[T, U]{f: orNil(f, "Map"), fn: fn}
}

type mapFuture[T, U any] struct {
	f  Future[T] // nil once ready
	fn func(T) U
}

func (m *mapFuture[T, U]) Poll(cx *Context) (U, bool) {
	v, ok := m.f.Poll(cx)
	if !ok {
		var zero U
		return zero, false
	}
	m.f = nil
	return m.fn(v), true
}

func (m *mapFuture[T, U]) Drop() {
	if m.f != nil {
		Drop(m.f)
		m.f = nil
	}
}

// Then returns a future that waits for f, passes its value to fn, and then
// waits for the future fn returns, whose value it gives. The second future
// is polled at once, in the same poll that found f ready. fn must not
// return nil.
func Then[T, U any](f Future[T], fn func(T) Future[U]) Future[U] {
	return &thenFuture[T, U]{first: orNil(f, "Then"), fn: fn}
}

type thenFuture[T, U any] struct {
	first  Future[T] // nil once ready
	fn     func(T) Future[U]
	second Future[U] // nil until first is ready, and once it is
}

func (t *thenFuture[T, U]) Poll(cx *Context) (U, bool) {
	var zero U
	if t.first != nil {
		v, ok := t.first.Poll(cx)
		if !ok {
			return zero, false
		}
		t.first = nil
		t.second = t.fn(v)
		t.fn = nil
		if t.second == nil {
			panic("task: the function passed to Then returned a nil Future")
		}
	}
	u, ok := t.second.Poll(cx)
	if ok {
		t.second = nil
	}
	return u, ok
}

func (t *thenFuture[T, U]) Drop() {
	if t.first != nil {
		Drop(t.first)
		t.first = nil
	}
	if t.second != nil {
		Drop(t.second)
		t.second = nil
	}
}

// Pair is the value of Join2: both values.
type Pair[A, B any] struct {
	First  A
	Second B
}

// Join2 returns a future that waits for both a and b, polling each that is
// not ready yet whenever it is polled, and gives both values.
func Join2[A, B any](a Future[A], b Future[B]) Future[Pair[A, B]] {
	return &join2[A, B]{a: orNil(a, "Join2"), b: orNil(b, "Join2")}
}

type join2[A, B any] struct {
	a   Future[A] // nil once ready
	b   Future[B] // nil once ready
	out Pair[A, B]
}

func (j *join2[A, B]) Poll(cx *Context) (Pair[A, B], bool) {
	if j.a != nil {
		if v, ok := j.a.Poll(cx); ok {
			j.out.First, j.a = v, nil
		}
	}
	if j.b != nil {
		if v, ok := j.b.Poll(cx); ok {
			j.out.Second, j.b = v, nil
		}
	}
	if j.a != nil || j.b != nil {
		return Pair[A, B]{}, false
	}
	return j.out, true
}

func (j *join2[A, B]) Drop() {
	if j.a != nil {
		Drop(j.a)
		j.a = nil
	}
	if j.b != nil {
		Drop(j.b)
		j.b = nil
	}
}

// JoinAll returns a future that waits for all of fs, polling each that is
// not ready yet whenever it is polled, and gives their values in the order
// of fs. With no futures it is ready at once with an empty slice. Each poll
// costs one poll per future still pending, so for thousands of futures
// spawn tasks and join their handles instead.
func JoinAll[T any](fs ...Future[T]) Future[[]T] {
	j := &joinAll[T]{
		fs:   nilsReplaced(fs, "JoinAll"),
		out:  make([]T, len(fs)),
		left: len(fs),
	}
	return j
}

type joinAll[T any] struct {
	fs   []Future[T] // fs[i] is nil once it is ready
	out  []T
	left int // futures not ready yet
}

func (j *joinAll[T]) Poll(cx *Context) ([]T, bool) {
	for i, f := range j.fs {
		if f == nil {
			continue
		}
		if v, ok := f.Poll(cx); ok {
			j.out[i] = v
			j.fs[i] = nil
			j.left--
		}
	}
	if j.left > 0 {
		return nil, false
	}
	return j.out, true
}

func (j *joinAll[T]) Drop() {
	for i, f := range j.fs {
		if f != nil {
			Drop(f)
			j.fs[i] = nil
		}
	}
}

// Selected is the value of Select: which future was ready first, and its
// value.
type Selected[T any] struct {
	Index int
	Value T
}

// Select returns a future that is ready with the first of fs to be ready,
// and drops the others then. It is fair: each poll starts with the future
// after the one the previous poll started with (the first poll starts at a
// random one), so a future that is always ready does not starve the
// others. To select between futures of different types, Map them to one.
// With no futures it is never ready, like an empty select statement.
func Select[T any](fs ...Future[T]) Future[Selected[T]] {
	s := &selectFuture[T]{fs: nilsReplaced(fs, "Select")}
	if len(fs) > 1 {
		s.start = rand.IntN(len(fs))
	}
	return s
}

type selectFuture[T any] struct {
	fs    []Future[T] // nil once one is ready
	start int         // the index the next poll tries first
}

func (s *selectFuture[T]) Poll(cx *Context) (Selected[T], bool) {
	n := len(s.fs)
	if n == 0 {
		return Selected[T]{}, false
	}
	first := s.start
	s.start++
	if s.start == n {
		s.start = 0
	}
	for k := 0; k < n; k++ {
		i := first + k
		if i >= n {
			i -= n
		}
		if v, ok := s.fs[i].Poll(cx); ok {
			s.fs[i] = nil
			s.Drop()
			return Selected[T]{Index: i, Value: v}, true
		}
	}
	return Selected[T]{}, false
}

func (s *selectFuture[T]) Drop() {
	fs := s.fs
	s.fs = nil
	for _, f := range fs {
		if f != nil {
			Drop(f)
		}
	}
}

// Yield is a future that gives way once: its first poll wakes the task and
// returns pending, so the task goes to the back of its run queue; its second
// poll is ready. It is then as new, so one Yield serves a whole loop. It is
// a value with nothing to release: embed it in a hand-written future, or
// declare one, and poll it through its address, with no allocation.
type Yield struct {
	yielded bool
}

// Poll is pending at the first poll and ready at the second.
func (y *Yield) Poll(cx *Context) (struct{}, bool) {
	if y.yielded {
		y.yielded = false
		return struct{}{}, true
	}
	y.yielded = true
	cx.Waker().Wake()
	return struct{}{}, false
}

// YieldNow returns a new Yield as a Future.
func YieldNow() Future[struct{}] { return &Yield{} }

// nilsReplaced copies fs with each nil future replaced by a nilFuture.
func nilsReplaced[T any](fs []Future[T], in string) []Future[T] {
	out := make([]Future[T], len(fs))
	for i, f := range fs {
		out[i] = orNil(f, in)
	}
	return out
}
