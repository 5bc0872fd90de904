package poller

import "strings"

// Token identifies a registered source in the events a Poll returns. Every
// value belongs to the caller: metal's own internal wake-ups never surface as
// events, so no token is reserved.
type Token uint64

// Interest is the set of readiness kinds a registration asks for, and how
// they are delivered.
//
// The low bits name the kinds (Readable, Writable, Priority); at least one
// must be set. The high bits choose the delivery mode, which is
// edge-triggered unless Level or Oneshot is added:
//
//	r.Register(src, tok, poller.Readable)                  // edge
//	r.Register(src, tok, poller.Readable|poller.Level)     // level
//	r.Register(src, tok, poller.Readable|poller.Oneshot)   // one event, then disarmed
//
// Edge-triggered (the default, as in mio): an event is reported when the
// source becomes ready; the caller must then read or write until the
// operation returns ErrWouldBlock, or it may never hear of the source again.
// Level-triggered: an event is reported on every Poll for as long as the
// source is ready. Oneshot: one event is reported and the registration is
// disarmed until Reregister arms it again (combine with Level for a
// level-triggered oneshot).
type Interest uint8

const (
	// Readable asks for read readiness: data to read, a connection to
	// accept, or the peer's end of stream.
	Readable Interest = 1 << iota
	// Writable asks for write readiness: room in the send buffer, or a
	// non-blocking connect that has finished.
	Writable
	// Priority asks for urgent (out-of-band) data, EPOLLPRI on Linux. On
	// kqueue, which has no such filter, it is delivered as read readiness.
	Priority

	// Level makes the registration level-triggered.
	Level Interest = 1 << 6
	// Oneshot disarms the registration after its first event.
	Oneshot Interest = 1 << 7

	kindMask = Readable | Writable | Priority
	modeMask = Level | Oneshot
)

// IsReadable reports whether i contains Readable.
func (i Interest) IsReadable() bool { return i&Readable != 0 }

// IsWritable reports whether i contains Writable.
func (i Interest) IsWritable() bool { return i&Writable != 0 }

// IsPriority reports whether i contains Priority.
func (i Interest) IsPriority() bool { return i&Priority != 0 }

// IsLevel reports whether i asks for level-triggered delivery.
func (i Interest) IsLevel() bool { return i&Level != 0 }

// IsOneshot reports whether i asks for oneshot delivery.
func (i Interest) IsOneshot() bool { return i&Oneshot != 0 }

// Add returns i with the kinds and modes of other added.
func (i Interest) Add(other Interest) Interest { return i | other }

// Remove returns i without the bits of other. The result may have no kind
// left, which Register rejects.
func (i Interest) Remove(other Interest) Interest { return i &^ other }

// valid reports whether i names at least one readiness kind and no unknown bit.
func (i Interest) valid() bool {
	return i&kindMask != 0 && i&^(kindMask|modeMask) == 0
}

// String lists the bits of i, as in "READABLE|WRITABLE|LEVEL".
func (i Interest) String() string {
	names := [...]struct {
		bit  Interest
		name string
	}{{Readable, "READABLE"}, {Writable, "WRITABLE"}, {Priority, "PRIORITY"}, {Level, "LEVEL"}, {Oneshot, "ONESHOT"}}
	var b strings.Builder
	for _, n := range names {
		if i&n.bit != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
		}
	}
	if b.Len() == 0 {
		return "NONE"
	}
	return b.String()
}
