package timer

// An entry is a node of an intrusive doubly linked list: the links live in
// the entry itself, which the caller allocates once and reuses, so linking
// and unlinking cost a few pointer writes and never allocate. Every list
// the wheel keeps (one per slot, the overflow list and the pending list)
// is a head and a tail: entries are appended at the tail and taken from
// the head, so entries that become due together are handed out in the
// order they were inserted.
//
// Where an entry is, is written in the entry: which wheel (nil when it is
// in none), which level and which slot. That is what makes Remove O(1)
// without searching, and what lets Remove refuse an entry that belongs to
// another wheel instead of corrupting both.

// Entry is one timer: a deadline and a Value that the caller gets back
// when the deadline comes. The zero value is an unlinked entry, ready to
// be inserted into a Wheel.
//
// The caller owns an Entry's memory and may reuse it as often as it likes:
// once Poll has returned it, or Remove has taken it out, it is unlinked
// and may be inserted again, into the same wheel or another. While it is
// linked it must not be copied or moved, for the wheel holds pointers to
// it. Value is the caller's alone; the wheel never reads or writes it.
type Entry[T any] struct {
	// Value is the caller's payload, typically what to wake.
	Value T

	// deadline is the tick at or after which the entry fires; it is what
	// Insert or Reset were last given, never rounded or clamped.
	deadline uint64

	// prev and next link the entry into the list it is in; both nil when
	// it is the only entry in its list, and when it is in no list.
	prev, next *Entry[T]

	// wheel is the wheel the entry is linked in, nil when it is in none.
	// Only the wheel sets it: to itself on Insert, to nil on Remove and
	// when Poll hands the entry out.
	wheel *Wheel[T]

	// level and slot say which list holds the entry while wheel is set:
	// level 0-5 with slot 0-63 for the wheel's slots, overflowLevel for
	// the overflow list, pendingLevel for the pending list (slot unused).
	level, slot uint8

	// sub is the part of its slot the entry is in (see "Parts of a slot"
	// in wheel.go): always 0 at level 0 and in the other lists.
	sub uint8

	// cascades counts how many times, since the last Insert or Reset,
	// Poll has found the entry not yet due in a list it was emptying and
	// placed it again. Nothing reads it but the tests, which check that
	// an entry moves at most once per level; it wraps after 255 moves,
	// which only a deadline centuries away could reach.
	cascades uint8
}

// Deadline returns the tick the entry was last inserted or reset to: the
// entry fires once the wheel's elapsed time reaches it. It is zero for an
// entry that was never inserted, and it is kept after the entry fires or
// is removed.
func (e *Entry[T]) Deadline() uint64 { return e.deadline }

// IsLinked reports whether the entry is in a wheel: inserted, and neither
// removed nor handed out by Poll since.
func (e *Entry[T]) IsLinked() bool { return e.wheel != nil }

// list is one of the wheel's lists of entries, oldest at head.
type list[T any] struct {
	head, tail *Entry[T]
}

// pushBack appends e, which must be in no list, at the tail.
func (l *list[T]) pushBack(e *Entry[T]) {
	e.prev = l.tail
	if l.tail == nil {
		l.head = e
	} else {
		l.tail.next = e
	}
	l.tail = e
}

// remove unlinks e, which must be in l, and clears its links.
func (l *list[T]) remove(e *Entry[T]) {
	if e.prev == nil {
		l.head = e.next
	} else {
		e.prev.next = e.next
	}
	if e.next == nil {
		l.tail = e.prev
	} else {
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
}

// popFront unlinks and returns the oldest entry, or nil if l is empty.
func (l *list[T]) popFront() *Entry[T] {
	e := l.head
	if e != nil {
		l.remove(e)
	}
	return e
}

// takeAll empties l and returns its old head; the entries stay chained to
// one another through next, for the caller to walk and relink.
func (l *list[T]) takeAll() *Entry[T] {
	e := l.head
	*l = list[T]{}
	return e
}
