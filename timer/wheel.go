package timer

import (
	"math"
	"math/bits"
)

// The wheel is six levels of 64 slots, each slot a list of entries. Level
// L's slots are 64^L ticks wide, so one level-L slot spans the whole of
// level L-1: 1 ms, 64 ms, 4.1 s, 4.4 min, 4.7 h, 12.4 days, and the top
// level as a whole spans 2^36 ms. Ticks are numbered from the caller's
// origin, so level L's slot for tick t is bits 6L..6L+5 of t.
//
// Where an entry goes. An entry whose deadline has come (deadline <=
// elapsed) goes to the pending list, which Poll empties first. Any other
// entry goes to the level named by the highest bit in which its deadline
// differs from elapsed: bits 0-5 level 0, bits 6-11 level 1, ..., bits
// 30-35 level 5, and bit 36 or above the overflow list. Its slot is the
// deadline's own six bits at that level. Deadline and elapsed agree above
// that level, and the deadline is the later, so its slot comes strictly
// after the slot elapsed is in. Hence the invariant everything rests on:
//
//	At every level L, every entry lies in elapsed's current block of 64
//	level-L slots (the level-(L+1) slot elapsed is in), in a slot strictly
//	after elapsed's own, or in elapsed's own slot in a part that starts
//	after elapsed (a slot emptied part by part; see below). A slot after
//	elapsed's own at level L therefore starts after everything at lower
//	levels, and no level ever wraps round.
//
// Finding the next expiration. By the invariant, the next list that can
// hold anything due is the first part of the first occupied slot of the
// lowest occupied level, unless a higher level's own slot has a part that
// starts sooner: one TrailingZeros64 of each occupancy word, and one more
// of the slot's part mask. The word need
// not be rotated to elapsed's slot first, as it would in a wheel that
// wraps, because no bit at or below elapsed's slot is ever set. If no level
// is occupied, the overflow list comes next (see far deadlines below). So
// NextExpiration and Poll look at six words at most, never at a slot.
//
// Advancing. Poll(now) moves elapsed straight to the start of that next
// list, if it starts at or before now, and empties it: each entry whose
// deadline has come goes to pending, each other entry is placed afresh
// from the new elapsed. An entry placed at level L has its deadline inside
// its slot, so once elapsed is at the slot's start they differ only below
// that slot's width, and the entry goes to a lower level. An entry thus
// moves at most once per level before it fires (an overflow entry once
// more, into the wheel), and a jump across a billion ticks costs one step
// per occupied slot, not one per tick. When nothing starts at or before
// now, elapsed moves to now; the invariant survives, since every occupied
// slot starts after now.
//
// Emptying a part over several calls. PollN empties a part a budget of
// entries at a time, so that a caller with other work to do (a runtime's
// worker) is not held for the milliseconds a crowded part takes. While a
// part is half emptied, elapsed stays at its start and the part stays
// occupied; each later call takes the next entries from its head. Nothing
// in the invariant changes: the entries still in the part lie in it, the
// ones already moved lie in lower levels or pending, and an entry removed
// or reset meanwhile has simply left the part (or, reset later, stays and
// is placed by its new deadline when its turn comes).
//
// Parts of a slot. A slot above level 0 keeps its entries in 8 lists, its
// parts, by the 3 bits of the deadline just below the slot's own (a
// level-1 slot's 64 ticks in eighths of 8, say), and its occupancy bit is
// set while any part holds an entry. Poll empties a slot one part at a
// time, each at its own start: elapsed moves to the start of the slot's
// first part, that part alone is moved down, and the slot, now elapsed's
// own, keeps its later parts, whose starts come after elapsed, until time
// reaches them. Without parts, the entries due in a slot's first tick
// waited until all of the slot was moved: with ten thousand timers armed
// in random order in one 64-tick slot, about a millisecond of cache
// misses, which was the p99 of a runtime's timer lateness. An entry still
// moves at most once per level. Within a part, order is insertion order,
// as in any list.
//
// Lazy reset. Reset to a deadline no earlier than the start of the part
// the entry is in leaves the entry where it is and only rewrites its
// deadline: that part is emptied no later than the new deadline, and
// emptying it looks at each entry's deadline afresh, placing the entry
// again instead of firing it if its deadline is still ahead. An idle
// timeout pushed back on every read thus costs one store per read, and the
// entry is moved only once its old slot comes round. Reset to a deadline
// before that slot's start unlinks the entry and places it afresh, for
// waiting for the slot would fire it late. The price of laziness is that
// an occupied slot no longer promises that something in it is due; see
// NextExpiration.
//
// Far deadlines. A deadline in a later 2^36-tick block than elapsed (up to
// 2.2 years out, or more) cannot go in a slot without wrapping a level, so
// it waits in the overflow list. The wheel keeps a floor under the
// overflow deadlines (exact when the list was last emptied, lowered by
// every entry placed there since, left alone by Remove, so never above the
// earliest), and Poll empties the list at the start of the floor's block,
// or of the next block if that is later: entries now within range go into
// the wheel, the rest back to overflow. Only the levels being empty lets
// Poll get there, so the jump over the blocks between is safe. The
// placement is clamped to the wheel's horizon, the deadline is not: such
// an entry fires on time too, and a parked entry costs Poll one step per
// overflow emptying, not one per 2^36 ticks crossed.

const (
	// slotBits is the width of a slot index: 64 slots a level.
	slotBits = 6
	numSlots = 1 << slotBits
	slotMask = numSlots - 1

	// subBits is the width of a part's index: 8 parts a slot above
	// level 0 (see "Parts of a slot").
	subBits = 3
	numSubs = 1 << subBits
	subMask = numSubs - 1

	// numLevels is the number of levels of slots; the top one spans
	// 64^6 = 2^36 ticks.
	numLevels = 6
	spanBits  = slotBits * numLevels
	spanMask  = 1<<spanBits - 1

	// overflowLevel and pendingLevel are the values of Entry.level for
	// the overflow and pending lists.
	overflowLevel = numLevels
	pendingLevel  = numLevels + 1
)

// Wheel is a hierarchical timing wheel of Entry timers, with a 1 ms tick
// and O(1) Insert, Remove and Reset. The zero value is an empty wheel
// whose elapsed time is 0.
//
// A Wheel is for one goroutine at a time: it takes no locks. Its time,
// like every deadline, is a tick count from an origin of the caller's
// choosing; it moves only when Poll is called, forward only, and never
// past the time Poll was given. An entry fires (Poll returns it) only once
// the elapsed time has reached its deadline, and no later than the first
// Poll whose now is at or past the deadline.
//
// Nothing a Wheel does allocates: the entries are the caller's. A Wheel is
// about 50 KB and must not be copied once it holds entries.
type Wheel[T any] struct {
	// elapsed is the wheel's time in ticks: the latest time Poll was
	// given, or the start of the list Poll is emptying. Every linked
	// entry not in pending has a deadline after it.
	elapsed uint64

	// len counts the linked entries: in slots, overflow and pending.
	len int

	// occupied[L] has bit s set exactly when slots[L][s] is not empty.
	// By the invariant above, no bit at or below elapsed's slot at level
	// L is ever set.
	occupied [numLevels]uint64

	// slots[L][s][p] holds entries whose deadline, when they were
	// placed, was in level L's slot s of elapsed's current block, and in
	// its part p; a lazy Reset may since have moved the deadline later,
	// never earlier than the slot's start.
	slots [numLevels][numSlots][numSubs]list[T]

	// parts[L][s] has bit p set exactly when slots[L][s][p] is not empty.
	parts [numLevels][numSlots]uint8

	// overflow holds entries whose deadline lies beyond elapsed's
	// current 2^36-tick block; Poll empties it at overflowStart.
	overflow list[T]

	// overflowFloor is at or below every overflow deadline while the
	// overflow list is not empty: set by the first entry placed in the
	// empty list, lowered by each one placed or lazily reset there after.
	// Remove leaves it, so it may be below the earliest, never above.
	overflowFloor uint64

	// pending holds entries whose deadline is at or before elapsed, in
	// the order they came due; Poll hands them out before it advances.
	pending list[T]

	// draining is 1 + the level of the slot Poll is emptying a few entries
	// at a time (PollN), drainSlot its slot and drainSub the part; 0 when
	// none is. elapsed is that part's start until it is empty, so Poll
	// does not advance past entries still in it.
	draining  uint8
	drainSlot uint8
	drainSub  uint8
}

// Elapsed returns the wheel's time in ticks since the caller's origin.
func (w *Wheel[T]) Elapsed() uint64 { return w.elapsed }

// Len returns the number of entries in the wheel, due ones included.
func (w *Wheel[T]) Len() int { return w.len }

// Insert adds e, which must not be in any wheel, to fire at deadline. A
// deadline at or before Elapsed fires on the next Poll, whatever time that
// Poll is given (as long as it is not before Elapsed). It panics if e is
// already linked: inserting a linked entry twice would corrupt the lists.
func (w *Wheel[T]) Insert(e *Entry[T], deadline uint64) {
	if e.wheel != nil {
		panic("timer: Insert of an entry that is already in a wheel")
	}
	e.deadline = deadline
	e.cascades = 0
	e.wheel = w
	w.len++
	w.place(e)
}

// Remove takes e out of the wheel so that it never fires, and reports
// whether it did: false if e is not in this wheel, because it has fired
// already, was removed already, was never inserted or is in another wheel.
func (w *Wheel[T]) Remove(e *Entry[T]) bool {
	if e.wheel != w {
		return false
	}
	w.unlink(e)
	e.wheel = nil
	w.len--
	return true
}

// Reset makes e fire at deadline instead: it inserts e if e is in no wheel,
// and otherwise moves it. It panics if e is in another wheel.
//
// Moving later is lazy: if the part e is in will be reached no later than
// the new deadline, Reset only records the deadline and leaves e where it
// is. When Poll reaches that part it finds e not yet due and places it
// again, further on. Moving earlier than that part unlinks e and places it
// afresh. Either way e fires at its new deadline, neither before nor later.
func (w *Wheel[T]) Reset(e *Entry[T], deadline uint64) {
	switch e.wheel {
	case nil:
		w.Insert(e, deadline)
		return
	case w:
	default:
		panic("timer: Reset of an entry that is in another wheel")
	}
	e.cascades = 0
	if w.canStay(e, deadline) {
		e.deadline = deadline
		return
	}
	w.unlink(e)
	e.deadline = deadline
	w.place(e)
}

// NextExpiration returns the earliest tick at which Poll may fire an
// entry, and false if the wheel is empty. It is Elapsed if an entry is due
// already.
//
// It is a lower bound, not always the earliest deadline: it is the start
// of the next list Poll will empty, read from the occupancy words without
// looking inside a slot. It is exact when the earliest entry is due, or
// is in level 0, that is due within elapsed's current 64-tick block
// (unless a lazy Reset has since moved it later). When
// it comes from a higher level, Poll at that tick moves the slot's entries
// down a level or more and may fire nothing; NextExpiration is then later
// and closer to the true deadline. A caller that sleeps until
// NextExpiration and polls wakes at most once per level without firing
// anything, for each entry: the same bargain as tokio's wheel, and cheaper
// than keeping an exact minimum through every Remove.
//
// After Poll(now) has returned nil, NextExpiration is after now.
func (w *Wheel[T]) NextExpiration() (uint64, bool) {
	if w.pending.head != nil || w.draining != 0 {
		return w.elapsed, true
	}
	_, _, start, ok := w.next()
	return start, ok
}

// Poll advances the wheel's time toward now and returns one entry whose
// deadline is at or before now, unlinked, or nil once there is none. Call
// it until it returns nil: the wheel's time is then now. Entries come out
// in deadline order, except that entries inserted or reset to a deadline
// already past come out first; entries with equal deadlines come out in
// the order they were inserted (lazy resets aside).
//
// Poll never moves the wheel's time past now, nor back: a now before
// Elapsed does nothing and returns nil. It skips empty stretches of time
// in one step, so a jump of years costs no more than the occupied slots
// it crosses. It never allocates.
//
// The caller may insert or reset entries, the returned one included,
// between calls. An entry inserted with a deadline at or before Elapsed
// comes out of the same round of calls.
func (w *Wheel[T]) Poll(now uint64) *Entry[T] {
	moves := math.MaxInt
	return w.PollN(now, &moves)
}

// PollN is Poll doing at most *moves moves of entries from one list to
// another (counting them down), so that a caller with other work can
// spread the emptying of a crowded slot over several calls: emptying a
// slot of a higher level moves each of its entries, and ten thousand
// moves are milliseconds. It returns an entry as Poll does; nil with
// *moves above zero when nothing more is due at now (the wheel's time is
// then now); and nil with *moves at zero when it stopped for the budget,
// with the wheel's time held where it was, so call it again, soon.
//
// Between calls the caller may insert, reset and remove entries as
// always; an entry due before the budget ran out may come out of a later
// call, never early.
func (w *Wheel[T]) PollN(now uint64, moves *int) *Entry[T] {
	if now < w.elapsed {
		return nil
	}
	for {
		if e := w.pending.popFront(); e != nil {
			e.wheel = nil
			w.len--
			return e
		}
		if w.draining != 0 {
			if *moves <= 0 {
				return nil
			}
			w.drain(moves)
			continue
		}
		level, slot, start, ok := w.next()
		if !ok || start > now {
			w.elapsed = now
			return nil
		}
		// start >= elapsed: the next part lies at or after elapsed.
		w.elapsed = start
		if level == overflowLevel {
			w.expireOverflow()
			continue
		}
		w.draining, w.drainSlot = uint8(level)+1, uint8(slot)
		w.drainSub = uint8(w.firstPart(level, slot))
	}
}

// drain moves entries out of the slot being emptied, whose start elapsed
// has reached, until it is empty or the budget is spent: due entries go
// to pending, the rest are placed afresh, at a lower level. An entry
// removed or reset meanwhile has simply left the slot (a lazy Reset that
// keeps it there is placed by its new deadline when its turn comes).
//
// Only the slot's first part is emptied: elapsed is that part's start, and
// the later parts wait for theirs (see "Parts of a slot"). Placing an
// entry never puts it back in this slot (it goes to a lower level or
// pending), so the loop ends.
func (w *Wheel[T]) drain(moves *int) {
	level, slot, sub := int(w.draining)-1, int(w.drainSlot), int(w.drainSub)
	l := &w.slots[level][slot][sub]
	for *moves > 0 {
		e := l.popFront()
		if e == nil {
			break
		}
		*moves--
		if e.deadline > w.elapsed {
			e.cascades++
		}
		w.place(e)
	}
	if l.head == nil {
		// Emptied here, or by Remove between calls (unlink has then
		// cleared the bits already).
		w.draining = 0
		parts := &w.parts[level][slot]
		if *parts &^= 1 << sub; *parts == 0 {
			w.occupied[level] &^= 1 << slot
		}
	}
}

// next returns the next list Poll must empty, as a level (overflowLevel
// for the overflow list) and a slot, and the tick at which it starts; ok
// is false if only the pending list, or nothing, holds entries.
//
// It is the first part of the lowest occupied level's first occupied
// slot, unless a higher level's own slot (elapsed's, being emptied part by
// part) has a part due sooner; any other slot of a higher level starts
// after everything below it (see the invariant). Ties go to the lower
// level.
func (w *Wheel[T]) next() (level, slot int, start uint64, ok bool) {
	for l, occ := range w.occupied {
		if occ == 0 {
			continue
		}
		s := bits.TrailingZeros64(occ)
		if ok && uint64(s) != w.elapsed>>(l*slotBits)&slotMask {
			continue
		}
		if st := w.partStart(l, s, w.firstPart(l, s)); !ok || st < start {
			level, slot, start, ok = l, s, st, true
		}
	}
	if ok {
		return level, slot, start, true
	}
	if w.overflow.head != nil {
		return overflowLevel, 0, w.overflowStart(), true
	}
	return 0, 0, 0, false
}

// firstPart returns the first non-empty part of an occupied slot.
func (w *Wheel[T]) firstPart(level, slot int) int {
	return bits.TrailingZeros8(w.parts[level][slot])
}

// partStart returns the first tick of part sub of level's slot in
// elapsed's current block; a level-0 slot is its one part.
func (w *Wheel[T]) partStart(level, slot, sub int) uint64 {
	start := w.slotStart(level, slot)
	if level > 0 {
		start |= uint64(sub) << (level*slotBits - subBits)
	}
	return start
}

// slotStart returns the first tick of level's slot in elapsed's current
// block: the tick at which Poll empties it.
func (w *Wheel[T]) slotStart(level, slot int) uint64 {
	shift := level * slotBits
	block := uint64(1)<<(shift+slotBits) - 1
	return w.elapsed&^block | uint64(slot)<<shift
}

// overflowStart returns the tick at which Poll empties the overflow list:
// the first tick of the 2^36-tick block that holds overflowFloor, or of
// the block after elapsed's if that is later. It is only asked while the
// overflow list holds an entry, whose deadline lies in a later block than
// elapsed, so the sum does not wrap.
func (w *Wheel[T]) overflowStart() uint64 {
	return max((w.elapsed|spanMask)+1, w.overflowFloor&^spanMask)
}

// expireOverflow empties the overflow list, whose start elapsed has just
// reached: entries now within the wheel's span go into it (or to pending,
// if due), the rest back to overflow. The list is emptied whole, not a
// budget at a time: entries put back would land in the list being
// emptied.
func (w *Wheel[T]) expireOverflow() {
	e := w.overflow.takeAll()
	for e != nil {
		next := e.next
		e.prev, e.next = nil, nil
		if e.deadline > w.elapsed {
			e.cascades++
		}
		w.place(e)
		e = next
	}
}

// place links e, whose wheel is w and which is in no list, where its
// deadline puts it relative to elapsed.
func (w *Wheel[T]) place(e *Entry[T]) {
	if e.deadline <= w.elapsed {
		e.level, e.sub = pendingLevel, 0
		w.pending.pushBack(e)
		return
	}
	// The highest differing bit: the deadline has a 1 there, elapsed a 0.
	level := (bits.Len64(e.deadline^w.elapsed) - 1) / slotBits
	if level >= numLevels {
		if w.overflow.head == nil || e.deadline < w.overflowFloor {
			w.overflowFloor = e.deadline
		}
		e.level, e.sub = overflowLevel, 0
		w.overflow.pushBack(e)
		return
	}
	slot := e.deadline >> (level * slotBits) & slotMask
	sub := uint64(0)
	if level > 0 {
		sub = e.deadline >> (level*slotBits - subBits) & subMask
	}
	e.level, e.slot, e.sub = uint8(level), uint8(slot), uint8(sub)
	w.slots[level][slot][sub].pushBack(e)
	w.parts[level][slot] |= 1 << sub
	w.occupied[level] |= 1 << slot
}

// canStay reports whether e, linked in w, may keep its place if its
// deadline becomes deadline: its list is emptied no later than deadline
// (a pending entry stays only if the new deadline has come too). For an
// overflow entry that stays it lowers overflowFloor to the new deadline
// if need be, the one side effect.
func (w *Wheel[T]) canStay(e *Entry[T], deadline uint64) bool {
	switch e.level {
	case pendingLevel:
		return deadline <= w.elapsed
	case overflowLevel:
		if deadline < w.overflowStart() {
			return false
		}
		w.overflowFloor = min(w.overflowFloor, deadline)
		return true
	default:
		return deadline >= w.partStart(int(e.level), int(e.slot), int(e.sub))
	}
}

// unlink takes e out of its list, keeping occupied in step; e.wheel is
// left for the caller to clear.
func (w *Wheel[T]) unlink(e *Entry[T]) {
	switch e.level {
	case pendingLevel:
		w.pending.remove(e)
	case overflowLevel:
		w.overflow.remove(e)
	default:
		l := &w.slots[e.level][e.slot][e.sub]
		l.remove(e)
		if l.head == nil {
			parts := &w.parts[e.level][e.slot]
			if *parts &^= 1 << e.sub; *parts == 0 {
				w.occupied[e.level] &^= 1 << e.slot
			}
		}
	}
}
