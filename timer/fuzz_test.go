package timer

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzWheel runs the wheel through a program decoded from the fuzz input,
// over a pool of reusable entries, beside a reference model that is only
// a deadline and a linked flag per entry. After every step it checks:
//
//   - each entry Poll returns is one the model has linked (so a removed
//     entry never fires), with the model's deadline, at or before the
//     wheel's time, and either at exactly its deadline or due before the
//     round of Polls began; the wheel's time never runs back or past now;
//   - when a round of Polls ends, no entry the model has linked is due
//     (so nothing is lost or late), and the wheel's time is now;
//   - Remove's answer, Len and IsLinked agree with the model;
//   - NextExpiration is false exactly when the wheel is empty, and lies
//     between the wheel's time and the earliest deadline; a Poll just
//     before it fires nothing;
//   - an entry moves at most once per level between being placed and
//     firing (one more after a lazy Reset), when its deadline was within
//     the wheel's span;
//   - the wheel's own invariants (requireInvariants).
//
// The program is a list of steps. A step's first byte is an opcode in its
// low 3 bits and an entry number (0-31) in its high 5; some steps read a
// distance after it (see fuzzReader.distance).
//
//	0  insert or reset the entry to now + distance
//	1  the same, to now - distance (due already) or, if the next byte is
//	   odd, to MaxUint64 - distance (beyond any span)
//	2  reset the entry to its deadline + distance (later)
//	3  reset the entry to its deadline - distance (earlier)
//	4  remove the entry
//	5  poll at now + distance, until nil
//	6  poll one tick at a time, entry number + 1 times
//	7  poll at NextExpiration (even entry number), or at a time before
//	   now (odd)
func FuzzWheel(f *testing.F) {
	// Seeds: one of each step, a long jump over parked entries, stepping
	// across level boundaries, lazy resets, and a crowd in one slot.
	f.Add([]byte{})
	f.Add([]byte{0x00, 0x02, 0x05, 0x02})
	f.Add([]byte{
		0x00, 0x83, 1, 2, 3, 0, 0, 0, // entry 0 at a random level-3 distance
		0x08, 0x45, // entry 1 at 64^5 - 1
		0x11, 0x01, 0x07, // entry 2, MaxUint64 - 64
		0x02, 0x04, // entry 0 later by 64^4
		0x0b, 0x02, // entry 1 earlier by 4096
		0x1c,       // remove entry 3 (never inserted)
		0x05, 0x07, // jump 64^7 ticks
		0x07, 0x07, 0x07, 0x07, // follow NextExpiration
		0xfe, // step 32 ticks
		0x0f, // poll in the past
	})
	f.Add([]byte{
		0x00, 0x01, 0x08, 0x01, 0x10, 0x01, 0x18, 0x01, // four at 64
		0x20, 0x41, 0x28, 0x0a, 0x30, 0x49, // 63, 66, 64+63+1
		0xfe, 0xfe, 0xfe, // step 96 ticks
		0x02, 0x00, 0x0a, 0x00, // resets by one
		0x07, 0x07, 0x05, 0x02,
	})
	f.Add([]byte{
		0x00, 0xc6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // far, random in level 6
		0x08, 0x06, // 2^36: the first tick of the next block
		0x10, 0x46, // 2^36 - 1
		0x05, 0x86, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x0f, // jump most of a span
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
	})

	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) > 4096 {
			program = program[:4096] // keep each run short
		}
		runWheelProgram(t, program)
	})
}

// fuzzPool is the number of reusable entries a program works on.
const fuzzPool = 32

// fuzzReader hands out the program's bytes; past the end it gives zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// distance decodes a distance in ticks, sized to reach every level and
// beyond, and biased to the boundaries where off-by-ones live. One byte:
// bits 0-2 pick a level L (0-7, 6 and 7 being beyond the wheel's span),
// bits 3-5 a small addend k, bits 6-7 the shape:
//
//	0  64^L + k          (the first tick of a level-L slot, and just after)
//	1  64^L - 1 + k      (the last tick before it)
//	2, 3  a random distance below 64^(L+1), from the next 6 bytes
func (r *fuzzReader) distance() uint64 {
	c := r.byte()
	shift := slotBits * uint(c&7)
	k := uint64(c >> 3 & 7)
	switch c >> 6 {
	case 0:
		return 1<<shift + k
	case 1:
		return 1<<shift - 1 + k
	}
	var buf [8]byte
	for i := range 6 {
		buf[i] = r.byte()
	}
	return binary.LittleEndian.Uint64(buf[:]) & (1<<(shift+slotBits) - 1)
}

// fuzzModel is the reference: what the wheel should hold.
type fuzzModel struct {
	linked   [fuzzPool]bool
	deadline [fuzzPool]uint64
	// placedAt is the wheel's time when the entry was last inserted or
	// reset, and maxMoves how often it may move after that.
	placedAt [fuzzPool]uint64
	maxMoves [fuzzPool]int
}

func runWheelProgram(t *testing.T, program []byte) {
	var w Wheel[int]
	var m fuzzModel
	entries := make([]Entry[int], fuzzPool)
	for i := range entries {
		entries[i].Value = i
	}
	r := &fuzzReader{b: program}

	set := func(id int, deadline uint64) {
		e := &entries[id]
		wasLevel, wasSlot, wasLinked := e.level, e.slot, e.IsLinked()
		w.Reset(e, deadline) // inserts when unlinked
		m.linked[id], m.deadline[id], m.placedAt[id] = true, deadline, w.Elapsed()
		switch {
		case wasLinked && wasLevel != pendingLevel && e.level == wasLevel && e.slot == wasSlot:
			// Left in place by a lazy Reset: one move to wherever the
			// new deadline puts it, then once per level from there.
			m.maxMoves[id] = numLevels + 1
		case e.level == pendingLevel:
			m.maxMoves[id] = 0
		default:
			// Placed at e.level (6 for overflow): strictly lower each move.
			m.maxMoves[id] = int(e.level)
		}
	}

	poll := func(now uint64) {
		before := w.Elapsed()
		if now < before {
			if e := w.Poll(now); e != nil {
				t.Fatalf("Poll(%d) before elapsed %d fired entry %d", now, before, e.Value)
			}
			if w.Elapsed() != before {
				t.Fatalf("Poll(%d) moved elapsed back from %d to %d", now, before, w.Elapsed())
			}
			return
		}
		// Poll by PollN with a small budget: the round must come out the
		// same as with Poll, however the emptying of slots is cut up.
		budget := 1 + int(now%7)
		pollN := func() *Entry[int] {
			for {
				moves := budget
				e := w.PollN(now, &moves)
				if e != nil || moves > 0 {
					return e
				}
				if w.Elapsed() > now {
					t.Fatalf("PollN(%d) stopped for its budget past now, at %d", now, w.Elapsed())
				}
			}
		}
		last := before
		for e := pollN(); e != nil; e = pollN() {
			id := e.Value
			el := w.Elapsed()
			switch {
			case !m.linked[id]:
				t.Fatalf("entry %d fired, but it was removed or fired already", id)
			case e.IsLinked():
				t.Fatalf("entry %d came out of Poll linked", id)
			case e.Deadline() != m.deadline[id]:
				t.Fatalf("entry %d fired with deadline %d, model says %d", id, e.Deadline(), m.deadline[id])
			case el < last || el > now:
				t.Fatalf("elapsed %d out of order (last %d, now %d)", el, last, now)
			case e.Deadline() > el:
				t.Fatalf("entry %d fired early: deadline %d, elapsed %d", id, e.Deadline(), el)
			case e.Deadline() != el && e.Deadline() > before:
				t.Fatalf("entry %d fired late: deadline %d, elapsed %d (round began at %d)", id, e.Deadline(), el, before)
			}
			if m.deadline[id]-m.placedAt[id] < 1<<spanBits && int(e.cascades) > m.maxMoves[id] {
				t.Fatalf("entry %d moved %d times, at most %d allowed", id, e.cascades, m.maxMoves[id])
			}
			last = el
			m.linked[id] = false
		}
		if w.Elapsed() != now {
			t.Fatalf("after Poll(%d) until nil, elapsed is %d", now, w.Elapsed())
		}
		for id := range fuzzPool {
			if m.linked[id] && m.deadline[id] <= now {
				t.Fatalf("entry %d due at %d did not fire by %d", id, m.deadline[id], now)
			}
		}
	}

	for r.more() {
		op := r.byte()
		id := int(op >> 3)
		e := &entries[id]
		switch op & 7 {
		case 0:
			set(id, w.Elapsed()+r.distance())
		case 1:
			if r.byte()&1 == 1 {
				set(id, math.MaxUint64-r.distance())
			} else {
				set(id, w.Elapsed()-min(r.distance(), w.Elapsed()))
			}
		case 2:
			d := e.Deadline() + r.distance()
			if d < e.Deadline() {
				d = math.MaxUint64
			}
			set(id, d)
		case 3:
			set(id, e.Deadline()-min(r.distance(), e.Deadline()))
		case 4:
			if got := w.Remove(e); got != m.linked[id] {
				t.Fatalf("Remove(entry %d) = %v, model says linked %v", id, got, m.linked[id])
			}
			m.linked[id] = false
		case 5:
			poll(w.Elapsed() + r.distance())
		case 6:
			for range id + 1 {
				poll(w.Elapsed() + 1)
			}
		case 7:
			if id&1 == 1 {
				poll(w.Elapsed() - min(uint64(id), w.Elapsed()))
				break
			}
			if next, ok := w.NextExpiration(); ok {
				if next > w.Elapsed() {
					poll(next - 1)
				}
				poll(next)
			}
		}

		// After every step: the model's view of size, links and the next
		// expiration, and the wheel's own invariants.
		n := 0
		earliest := uint64(math.MaxUint64)
		for id := range fuzzPool {
			if entries[id].IsLinked() != m.linked[id] {
				t.Fatalf("entry %d IsLinked %v, model says %v", id, entries[id].IsLinked(), m.linked[id])
			}
			if m.linked[id] {
				n++
				earliest = min(earliest, m.deadline[id])
			}
		}
		if w.Len() != n {
			t.Fatalf("Len %d, model holds %d", w.Len(), n)
		}
		next, ok := w.NextExpiration()
		switch {
		case ok != (n > 0):
			t.Fatalf("NextExpiration ok %v with %d entries", ok, n)
		case ok && next < w.Elapsed():
			t.Fatalf("NextExpiration %d before elapsed %d", next, w.Elapsed())
		case ok && next > max(earliest, w.Elapsed()):
			t.Fatalf("NextExpiration %d after the earliest deadline %d (elapsed %d)", next, earliest, w.Elapsed())
		}
		requireInvariants(t, &w)
	}
}
