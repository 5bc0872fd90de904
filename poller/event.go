package poller

import (
	"fmt"
	"iter"
)

// eventFlags is the readiness an Event reports, one bit per kind.
type eventFlags uint8

const (
	flagReadable eventFlags = 1 << iota
	flagWritable
	flagError
	flagReadClosed
	flagWriteClosed
	flagPriority
)

// Event is one readiness notification: the token of the source and what it
// is ready for. It is a small value; copy it freely.
//
// Readiness is a hint, not a promise: an event may be spurious (the read then
// returns ErrWouldBlock), and several kinds may be reported at once. The
// closed kinds never report a false positive: a peer that shuts down its
// writing half makes the stream read-closed, never write-closed, so a writer
// is not told to stop while it still can write.
type Event struct {
	token Token
	flags eventFlags
}

// Token returns the token the source was registered with.
func (e Event) Token() Token { return e.token }

// IsReadable reports read readiness (including Priority data).
func (e Event) IsReadable() bool { return e.flags&flagReadable != 0 }

// IsWritable reports write readiness.
func (e Event) IsWritable() bool { return e.flags&flagWritable != 0 }

// IsError reports an error condition on the source; for a socket, TakeError
// returns it.
func (e Event) IsError() bool { return e.flags&flagError != 0 }

// IsReadClosed reports that the reading half is closed: the peer shut down
// its writing half, or the connection is gone. Reads return end of stream.
func (e Event) IsReadClosed() bool { return e.flags&flagReadClosed != 0 }

// IsWriteClosed reports that the writing half is closed: the connection is
// gone or reset, or a pipe's reader has closed. Writes fail.
func (e Event) IsWriteClosed() bool { return e.flags&flagWriteClosed != 0 }

// IsPriority reports urgent (out-of-band) data.
func (e Event) IsPriority() bool { return e.flags&flagPriority != 0 }

// String describes the event, as in "Event{token: 3, READABLE|READ_CLOSED}".
func (e Event) String() string {
	names := [...]string{"READABLE", "WRITABLE", "ERROR", "READ_CLOSED", "WRITE_CLOSED", "PRIORITY"}
	s := ""
	for i, n := range names {
		if e.flags&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		s = "NONE"
	}
	return fmt.Sprintf("Event{token: %d, %s}", e.token, s)
}

// Events is the buffer a Poll fills. Make one with NewEvents and reuse it
// for every call: Poll overwrites it, and never allocates.
type Events struct {
	list []Event    // the events of the last Poll; cap(list) is the capacity
	sys  []sysEvent // the kernel's buffer, same capacity
}

// NewEvents returns an Events that holds up to capacity events per Poll.
// A capacity of zero (or less) gives an Events that Poll rejects with
// ErrNoCapacity.
func NewEvents(capacity int) *Events {
	if capacity < 0 {
		capacity = 0
	}
	return &Events{
		list: make([]Event, 0, capacity),
		sys:  make([]sysEvent, capacity),
	}
}

// Len returns the number of events the last Poll delivered.
func (ev *Events) Len() int { return len(ev.list) }

// Cap returns the most events one Poll delivers; the rest wait for the next.
func (ev *Events) Cap() int { return cap(ev.list) }

// At returns the i-th event, 0 <= i < Len().
func (ev *Events) At(i int) Event { return ev.list[i] }

// All iterates over the events of the last Poll.
func (ev *Events) All() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for _, e := range ev.list {
			if !yield(e) {
				return
			}
		}
	}
}

// Clear empties the buffer; Poll does this itself.
func (ev *Events) Clear() { ev.list = ev.list[:0] }

// push appends an event; the caller has checked there is room.
func (ev *Events) push(t Token, f eventFlags) {
	ev.list = append(ev.list, Event{token: t, flags: f})
}
