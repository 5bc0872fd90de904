package timer

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pollAll drains every entry due at now and returns them in firing order,
// checking each one against the wheel's promises as it comes out: due,
// unlinked, and never before the wheel's time reached its deadline.
func pollAll(t testing.TB, w *Wheel[int], now uint64) []*Entry[int] {
	t.Helper()
	var out []*Entry[int]
	for e := w.Poll(now); e != nil; e = w.Poll(now) {
		require.False(t, e.IsLinked(), "entry %d came out linked", e.Value)
		require.LessOrEqual(t, e.Deadline(), w.Elapsed(), "entry %d fired early", e.Value)
		require.LessOrEqual(t, w.Elapsed(), now, "elapsed ran past now")
		out = append(out, e)
	}
	require.Equal(t, now, w.Elapsed(), "elapsed after draining")
	return out
}

// values returns the Values of es, in order.
func values(es []*Entry[int]) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

// requireInvariants walks every list of w and checks what the wheel's
// correctness rests on: the occupancy words match the slots, every linked
// entry says where it is, slot entries lie after elapsed's slot in
// elapsed's block and are not due before their slot starts, pending
// entries are due, overflow entries lie beyond elapsed's block and not
// below the floor, and Len counts them all. It is plain code, not
// assertions per entry, because the fuzz test runs it after every step.
func requireInvariants(t testing.TB, w *Wheel[int]) {
	t.Helper()
	if err := checkInvariants(w); err != "" {
		t.Fatalf("wheel invariant broken at elapsed %d: %s", w.elapsed, err)
	}
}

func checkInvariants(w *Wheel[int]) string {
	count := 0
	walk := func(l *list[int], level, slot int, check func(e *Entry[int]) string) string {
		var prev *Entry[int]
		for e := l.head; e != nil; e = e.next {
			switch {
			case e.prev != prev:
				return fmt.Sprintf("broken prev link at level %d slot %d", level, slot)
			case e.wheel != w:
				return fmt.Sprintf("entry %d in a list of w does not name w", e.Value)
			case int(e.level) != level:
				return fmt.Sprintf("entry %d says level %d, is in %d", e.Value, e.level, level)
			}
			if err := check(e); err != "" {
				return err
			}
			prev = e
			if count++; count > w.Len() {
				return "more entries in lists than Len (or a cycle)"
			}
		}
		if l.tail != prev {
			return fmt.Sprintf("wrong tail at level %d slot %d", level, slot)
		}
		return ""
	}
	for level := range numLevels {
		pos := int(w.elapsed >> (level * slotBits) & slotMask)
		for slot := range numSlots {
			var parts uint8
			for sub := range numSubs {
				if w.slots[level][slot][sub].head != nil {
					parts |= 1 << sub
				}
			}
			if parts != w.parts[level][slot] {
				return fmt.Sprintf("parts of level %d slot %d are %08b, lists say %08b", level, slot, w.parts[level][slot], parts)
			}
			if occupied := w.occupied[level]&(1<<slot) != 0; occupied != (parts != 0) {
				return fmt.Sprintf("occupancy bit of level %d slot %d is %v", level, slot, occupied)
			}
			if parts == 0 {
				continue
			}
			if level == 0 && parts != 1 {
				return fmt.Sprintf("level 0 slot %d uses parts %08b", slot, parts)
			}
			if slot < pos {
				return fmt.Sprintf("level %d slot %d occupied, behind elapsed's slot %d", level, slot, pos)
			}
			for sub := range numSubs {
				start := w.partStart(level, slot, sub)
				if parts&(1<<sub) != 0 && slot == pos {
					// Elapsed's own slot holds only parts yet to come (a
					// slot emptied part by part), or, at level 0, the
					// one PollN is emptying.
					halfEmptied := int(w.draining) == level+1 && int(w.drainSlot) == slot && int(w.drainSub) == sub
					if start < w.elapsed || (start == w.elapsed && !halfEmptied) {
						return fmt.Sprintf("level %d slot %d part %d occupied, starts at %d, elapsed %d", level, slot, sub, start, w.elapsed)
					}
				}
				err := walk(&w.slots[level][slot][sub], level, slot, func(e *Entry[int]) string {
					switch {
					case int(e.slot) != slot:
						return fmt.Sprintf("entry %d says slot %d, is in %d", e.Value, e.slot, slot)
					case int(e.sub) != sub:
						return fmt.Sprintf("entry %d says part %d, is in %d", e.Value, e.sub, sub)
					case e.deadline < start:
						return fmt.Sprintf("entry %d due at %d, before its part starts at %d", e.Value, e.deadline, start)
					}
					return ""
				})
				if err != "" {
					return err
				}
			}
		}
	}
	err := walk(&w.overflow, overflowLevel, 0, func(e *Entry[int]) string {
		switch {
		case e.deadline < w.overflowFloor:
			return fmt.Sprintf("overflow entry %d due at %d, below the floor %d", e.Value, e.deadline, w.overflowFloor)
		case e.deadline < w.overflowStart():
			return fmt.Sprintf("overflow entry %d due at %d, before the list is emptied", e.Value, e.deadline)
		case e.deadline>>spanBits <= w.elapsed>>spanBits:
			return fmt.Sprintf("overflow entry %d due at %d, within elapsed's block", e.Value, e.deadline)
		}
		return ""
	})
	if err != "" {
		return err
	}
	err = walk(&w.pending, pendingLevel, 0, func(e *Entry[int]) string {
		if e.deadline > w.elapsed {
			return fmt.Sprintf("pending entry %d not due until %d", e.Value, e.deadline)
		}
		return ""
	})
	if err != "" {
		return err
	}
	if count != w.Len() {
		return fmt.Sprintf("Len %d, but %d entries in lists", w.Len(), count)
	}
	return ""
}

// levelOf returns where e sits, for tests that watch an entry move.
func levelOf(e *Entry[int]) (level, slot int) { return int(e.level), int(e.slot) }

func TestZeroWheelIsEmpty(t *testing.T) {
	var w Wheel[int]
	require.Zero(t, w.Len())
	_, ok := w.NextExpiration()
	require.False(t, ok)
	require.Empty(t, pollAll(t, &w, 12345))
	require.EqualValues(t, 12345, w.Elapsed(), "an empty wheel jumps straight to now")
}

// Many random deadlines over every level come out sorted, each at exactly
// its deadline when the wheel is polled at random increasing times, with
// ties in insertion order.
func TestFiresInDeadlineOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w Wheel[int]
	const n = 20000
	entries := make([]Entry[int], n)
	for i := range entries {
		entries[i].Value = i
		// Spread over all levels: pick a level, then a deadline in it.
		// Some collide, to check the order of ties.
		d := 1 + rng.Uint64N(uint64(1)<<(slotBits*(1+rng.IntN(numLevels))))
		if i%10 == 0 {
			d = 1000 // ties
		}
		w.Insert(&entries[i], d)
	}
	requireInvariants(t, &w)

	var fired []*Entry[int]
	var now uint64
	for w.Len() > 0 {
		now += 1 + rng.Uint64N(uint64(1)<<rng.IntN(32))
		before := w.Elapsed()
		for e := w.Poll(now); e != nil; e = w.Poll(now) {
			// Inserted at 0, so nothing was due before; each comes out at
			// its own deadline.
			require.Greater(t, e.Deadline(), before)
			require.Equal(t, e.Deadline(), w.Elapsed(), "entry %d fired at %d", e.Value, w.Elapsed())
			fired = append(fired, e)
		}
		requireInvariants(t, &w)
	}
	require.Len(t, fired, n)
	require.True(t, slices.IsSortedFunc(fired, func(a, b *Entry[int]) int {
		// By deadline; ties in insertion order.
		return cmp.Or(cmp.Compare(a.Deadline(), b.Deadline()), cmp.Compare(a.Value, b.Value))
	}), "firing order")
}

// boundaryDeadlines are deadlines on and beside every level's boundaries,
// where a wheel is most likely to be off by one.
func boundaryDeadlines() []uint64 {
	ds := []uint64{1, 2}
	for level := 1; level <= numLevels; level++ {
		b := uint64(1) << (slotBits * level)
		ds = append(ds, b-1, b, b+1, 2*b-1, 2*b+1, 63*b+b-1)
	}
	return ds
}

// An entry fires at the first Poll whose now is at or past its deadline:
// not one tick before, whatever the origin, and not later.
func TestFiresAtFirstPollAtOrAfterDeadline(t *testing.T) {
	for _, origin := range []uint64{0, 1, 63, 4095, 1<<36 - 1, 1<<36 + 12345, 5 << 40} {
		for _, dist := range boundaryDeadlines() {
			var w Wheel[int]
			pollAll(t, &w, origin)
			var e Entry[int]
			d := origin + dist
			w.Insert(&e, d)
			require.Empty(t, pollAll(t, &w, d-1), "origin %d deadline %d: fired at %d", origin, d, d-1)
			requireInvariants(t, &w)
			require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, d), "origin %d deadline %d", origin, d)
			require.Zero(t, w.Len())
		}
	}

	// A Poll well past the deadline fires it then: max(deadline, now).
	var w Wheel[int]
	var e Entry[int]
	w.Insert(&e, 100_000)
	require.Empty(t, pollAll(t, &w, 99_999))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 1<<40))
	require.EqualValues(t, 1<<40, w.Elapsed())
}

// Stepping one tick at a time, every entry fires exactly at its deadline,
// across the first two levels' boundaries.
func TestSteppingFiresExactlyAtDeadline(t *testing.T) {
	var w Wheel[int]
	const last = 3 * 4096
	entries := make([]Entry[int], last)
	for i := range entries {
		entries[i].Value = i + 1
		w.Insert(&entries[i], uint64(i+1))
	}
	for now := uint64(1); now <= last; now++ {
		fired := pollAll(t, &w, now)
		require.Len(t, fired, 1, "at %d", now)
		require.Equal(t, now, fired[0].Deadline())
	}
	require.Zero(t, w.Len())
}

// Deadlines at or before the wheel's time are not lost: they fire on the
// next Poll, in insertion order, even one at the same time.
func TestPastDeadlinesFireOnNextPoll(t *testing.T) {
	var w Wheel[int]
	pollAll(t, &w, 1000)
	a, b, c := Entry[int]{Value: 1}, Entry[int]{Value: 2}, Entry[int]{Value: 3}
	w.Insert(&a, 1000)
	w.Insert(&b, 5)
	w.Insert(&c, 0)
	requireInvariants(t, &w)
	next, ok := w.NextExpiration()
	require.True(t, ok)
	require.EqualValues(t, 1000, next, "due entries make the next expiration now")
	require.Equal(t, []int{1, 2, 3}, values(pollAll(t, &w, 1000)))
}

// A Poll with a time before the wheel's does nothing: time does not run
// back, and nothing fires, not even what is due.
func TestStalePollIsNoOp(t *testing.T) {
	var w Wheel[int]
	pollAll(t, &w, 500)
	var due, later Entry[int]
	w.Insert(&due, 100)
	w.Insert(&later, 600)
	require.Nil(t, w.Poll(499))
	require.EqualValues(t, 500, w.Elapsed())
	require.Equal(t, 2, w.Len())
	require.Equal(t, []*Entry[int]{&due}, pollAll(t, &w, 500))
}

// An entry moves down at most once per level. The deadline with a 1 in
// every level's digit is the worst case: it visits each level in turn,
// 5, 4, 3, 2, 1, 0, moving exactly five times.
func TestCascadesOncePerLevel(t *testing.T) {
	var w Wheel[int]
	var e Entry[int]
	var d uint64
	for level := range numLevels {
		d |= 1 << (slotBits * level)
	}
	w.Insert(&e, d)
	for want := numLevels - 1; want >= 0; want-- {
		level, slot := levelOf(&e)
		require.Equal(t, want, level)
		require.Equal(t, 1, slot)
		next, ok := w.NextExpiration()
		require.True(t, ok)
		fired := pollAll(t, &w, next)
		if want > 0 {
			require.Empty(t, fired, "fired from level %d", want)
			requireInvariants(t, &w)
		} else {
			require.Equal(t, []*Entry[int]{&e}, fired)
		}
	}
	require.EqualValues(t, numLevels-1, e.cascades)
	require.Equal(t, d, w.Elapsed())

	// Random deadlines from random origins: never more moves than the
	// level an entry started at.
	rng := rand.New(rand.NewPCG(3, 4))
	w = Wheel[int]{}
	pollAll(t, &w, rng.Uint64N(1<<40))
	entries := make([]Entry[int], 5000)
	start := make(map[*Entry[int]]int)
	for i := range entries {
		e := &entries[i]
		w.Insert(e, w.Elapsed()+1+rng.Uint64N(1<<spanBits))
		start[e], _ = levelOf(e)
	}
	for w.Len() > 0 {
		next, _ := w.NextExpiration()
		for _, e := range pollAll(t, &w, next+rng.Uint64N(64)) {
			require.LessOrEqual(t, int(e.cascades), start[e], "entry starting at level %d", start[e])
		}
	}
}

// A deadline beyond the wheel's 2^36-tick span is parked at the horizon,
// not shortened: it keeps its deadline, fires at it, and the wheel wakes
// for it only at block boundaries.
func TestFarDeadlinesAreParkedAtTheHorizon(t *testing.T) {
	var w Wheel[int]
	pollAll(t, &w, 777)
	var far, forever Entry[int]
	farDeadline := uint64(3)<<spanBits + 42 // about 6.5 years
	w.Insert(&far, farDeadline)
	w.Insert(&forever, math.MaxUint64)
	requireInvariants(t, &w)
	require.EqualValues(t, overflowLevel, far.level, "placement clamped to the horizon")
	require.Equal(t, farDeadline, far.Deadline(), "deadline not clamped")

	// The wheel wakes for it at the start of its block, not at each of
	// the empty blocks before.
	next, _ := w.NextExpiration()
	require.EqualValues(t, uint64(3)<<spanBits, next, "the start of the deadline's block")
	require.Empty(t, pollAll(t, &w, next-1))
	require.EqualValues(t, overflowLevel, far.level)
	require.Empty(t, pollAll(t, &w, next))
	level, _ := levelOf(&far)
	require.Equal(t, 0, level, "42 ticks into its block: level 0")
	require.Empty(t, pollAll(t, &w, farDeadline-1))
	requireInvariants(t, &w)
	require.Equal(t, []*Entry[int]{&far}, pollAll(t, &w, farDeadline))
	require.EqualValues(t, 1, far.cascades, "one move, out of overflow")

	// Parked entries reset lazily too: later stays in overflow, earlier
	// but within the span comes into the wheel.
	w.Reset(&far, 5<<spanBits+42) // unlinked: inserted, parked
	require.EqualValues(t, overflowLevel, far.level)
	require.EqualValues(t, uint64(5)<<spanBits+42, w.overflowFloor)
	w.Reset(&far, 5<<spanBits+1) // earlier, same block: stays, lowers the floor
	require.EqualValues(t, overflowLevel, far.level)
	require.EqualValues(t, uint64(5)<<spanBits+1, w.overflowFloor)
	w.Reset(&far, 6<<spanBits) // later: stays; the floor stays, a lower bound
	require.EqualValues(t, uint64(5)<<spanBits+1, w.overflowFloor)
	requireInvariants(t, &w)
	w.Reset(&far, w.Elapsed()+1<<20)
	require.EqualValues(t, 3, far.level)
	requireInvariants(t, &w)
	require.True(t, w.Remove(&far))

	require.Empty(t, pollAll(t, &w, 1<<62))
	require.True(t, forever.IsLinked())
	require.True(t, w.Remove(&forever))
	_, ok := w.NextExpiration()
	require.False(t, ok)
}

// A deadline less than one span away but across a block boundary goes
// to overflow and still fires on time, moving once per level at most.
func TestDeadlineAcrossTheBlockBoundary(t *testing.T) {
	var w Wheel[int]
	pollAll(t, &w, 1<<spanBits-10)
	var e Entry[int]
	d := uint64(1)<<spanBits + 1<<30 + 5
	w.Insert(&e, d)
	require.EqualValues(t, overflowLevel, e.level)
	require.Empty(t, pollAll(t, &w, d-1))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, d))
	require.LessOrEqual(t, int(e.cascades), numLevels)
}

// Reset to a later deadline leaves the entry in its slot; when the slot
// comes round it is placed again, and fires at the new deadline, not the
// old one.
func TestResetLaterLeavesEntryInPlace(t *testing.T) {
	var w Wheel[int]
	var e, neighbour Entry[int]
	w.Insert(&neighbour, 100)
	w.Insert(&e, 100) // level 1, slot 1: [64, 128)
	level, slot := levelOf(&e)
	require.Equal(t, 1, level)
	require.Equal(t, 1, slot)

	w.Reset(&e, 5000)
	require.EqualValues(t, 5000, e.Deadline())
	l2, s2 := levelOf(&e)
	require.Equal(t, []int{level, slot}, []int{l2, s2}, "reset later relinked the entry")
	require.Same(t, &e, neighbour.next, "still in the same list, behind its neighbour")
	requireInvariants(t, &w)

	require.Equal(t, []*Entry[int]{&neighbour}, pollAll(t, &w, 100), "fired at the old deadline")
	require.Equal(t, 1, w.Len())
	level, _ = levelOf(&e)
	require.Equal(t, 2, level, "placed again when its old slot came round")
	require.Empty(t, pollAll(t, &w, 4999))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 5000))

	// Pushed back again and again (an idle timeout reset on every read),
	// it stays put until its slot comes round, then fires once, on time.
	w.Insert(&e, 6000) // level 1
	level, slot = levelOf(&e)
	for d := uint64(6001); d < 9000; d++ {
		w.Reset(&e, d)
		l2, s2 = levelOf(&e)
		require.Equal(t, []int{level, slot}, []int{l2, s2}, "moved by a reset to %d", d)
	}
	require.Empty(t, pollAll(t, &w, 8998))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 8999))
}

// Reset to an earlier deadline moves the entry, so it is not late; to a
// past deadline it is due at once; to the same slot's range, it stays.
func TestResetEarlierRelinks(t *testing.T) {
	var w Wheel[int]
	var e Entry[int]
	w.Insert(&e, 5000)
	w.Reset(&e, 100)
	level, slot := levelOf(&e)
	require.Equal(t, []int{1, 1}, []int{level, slot})
	requireInvariants(t, &w)
	require.Empty(t, pollAll(t, &w, 99))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 100))

	w.Insert(&e, 5000)
	w.Reset(&e, 50) // before now: due
	require.EqualValues(t, pendingLevel, e.level)
	w.Reset(&e, 70) // still due: stays
	require.EqualValues(t, pendingLevel, e.level)
	require.EqualValues(t, 70, e.Deadline())
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 100))

	// Earlier but within the slot it is in ([4096, 8192) at level 2): it
	// may stay, the slot is reached in time.
	w.Insert(&e, 8000)
	w.Reset(&e, 4100)
	level, slot = levelOf(&e)
	require.Equal(t, []int{2, 1}, []int{level, slot})
	require.Empty(t, pollAll(t, &w, 4099))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 4100))

	// A due entry reset into the future leaves the pending list.
	w.Insert(&e, 0)
	w.Reset(&e, 4200)
	require.Empty(t, pollAll(t, &w, 4199))
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 4200))
}

func TestResetOfUnlinkedEntryInserts(t *testing.T) {
	var w Wheel[int]
	var e Entry[int]
	w.Reset(&e, 10)
	require.True(t, e.IsLinked())
	require.Equal(t, 1, w.Len())
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 10))
}

func TestRemove(t *testing.T) {
	var w, other Wheel[int]
	var e, never Entry[int]
	w.Insert(&e, 300)
	require.False(t, other.Remove(&e), "removed from a wheel it is not in")
	require.True(t, e.IsLinked())
	require.True(t, w.Remove(&e))
	require.False(t, e.IsLinked())
	require.Zero(t, w.Len())
	requireInvariants(t, &w)
	_, ok := w.NextExpiration()
	require.False(t, ok, "the occupancy bit went with the entry")
	require.False(t, w.Remove(&e), "removed twice")
	require.Empty(t, pollAll(t, &w, 1000), "a removed entry fired")
	require.False(t, w.Remove(&never), "never inserted")

	w.Insert(&e, 1001)
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 1001))
	require.False(t, w.Remove(&e), "removed after firing")

	// Removing one of several in a slot leaves the others to fire.
	entries := make([]Entry[int], 5)
	for i := range entries {
		entries[i].Value = i
		w.Insert(&entries[i], 2000)
	}
	require.True(t, w.Remove(&entries[0]))
	require.True(t, w.Remove(&entries[2]))
	require.True(t, w.Remove(&entries[4]))
	requireInvariants(t, &w)
	require.Equal(t, []int{1, 3}, values(pollAll(t, &w, 2000)))
}

// A fired entry is reusable at once, also from inside the Poll loop; a
// re-insert with a past deadline comes out of the same round.
func TestEntryReusedFromPollLoop(t *testing.T) {
	var w Wheel[int]
	var e Entry[int]
	w.Insert(&e, 10)
	fires := 0
	for got := w.Poll(50); got != nil; got = w.Poll(50) {
		fires++
		if fires < 3 {
			w.Insert(got, got.Deadline()+10) // 20, 30: due by 50
		}
	}
	require.Equal(t, 3, fires)
	w.Insert(&e, 60)
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 60))
}

// NextExpiration is exact in level 0, a lower bound above, never past the
// earliest deadline, and after Poll(now) returns nil it lies after now.
func TestNextExpiration(t *testing.T) {
	var w Wheel[int]
	var near, far Entry[int]
	w.Insert(&far, 100_000)
	next, ok := w.NextExpiration()
	require.True(t, ok)
	require.LessOrEqual(t, next, uint64(100_000))
	require.EqualValues(t, 99840, next, "the start of part 3 of level 2's slot 24 (98304 + 3 x 512)")

	w.Insert(&near, 37)
	next, _ = w.NextExpiration()
	require.EqualValues(t, 37, next, "exact in level 0")
	require.Equal(t, []*Entry[int]{&near}, pollAll(t, &w, 37))

	// Following NextExpiration reaches the deadline in at most one step
	// per level, each one no later than the deadline.
	steps := 0
	for w.Len() > 0 {
		next, _ = w.NextExpiration()
		require.Greater(t, next, w.Elapsed())
		require.LessOrEqual(t, next, far.Deadline())
		pollAll(t, &w, next)
		steps++
	}
	require.LessOrEqual(t, steps, numLevels)
	require.EqualValues(t, 100_000, w.Elapsed())
}

// Jumping across far more ticks than could be walked one by one takes one
// step per occupied slot: this test would not finish otherwise.
func TestFarJumpSkipsEmptyTime(t *testing.T) {
	var w Wheel[int]
	entries := make([]Entry[int], 3)
	for i, d := range []uint64{1_000_000_000, 1 << 45, 1 << 61} {
		entries[i].Value = i
		w.Insert(&entries[i], d)
	}
	require.Equal(t, []int{0, 1, 2}, values(pollAll(t, &w, 1<<62)))
	require.EqualValues(t, 1<<62, w.Elapsed())
}

// Insert, Remove, Reset and firing allocate nothing.
func TestNoAllocations(t *testing.T) {
	var w Wheel[int]
	entries := make([]Entry[int], 64)
	var now uint64
	allocs := testing.AllocsPerRun(100, func() {
		for i := range entries {
			w.Insert(&entries[i], now+uint64(i)*uint64(i)*997)
		}
		for i := range entries {
			switch i % 3 {
			case 0:
				w.Remove(&entries[i])
			case 1:
				w.Reset(&entries[i], entries[i].Deadline()+5000) // later: lazy
			case 2:
				w.Reset(&entries[i], now+1) // earlier: relink
			}
		}
		now += 1 << 24
		for e := w.Poll(now); e != nil; e = w.Poll(now) {
		}
		w.NextExpiration()
	})
	require.Zero(t, allocs)
	require.Zero(t, w.Len())
}

func TestMisusePanics(t *testing.T) {
	var w, other Wheel[int]
	var e Entry[int]
	w.Insert(&e, 5)
	require.Panics(t, func() { w.Insert(&e, 6) }, "double insert")
	require.Panics(t, func() { other.Insert(&e, 6) }, "insert into a second wheel")
	require.Panics(t, func() { other.Reset(&e, 6) }, "reset through the wrong wheel")
	requireInvariants(t, &w)
	require.Equal(t, []*Entry[int]{&e}, pollAll(t, &w, 5))
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		d           time.Duration
		up, elapsed uint64
	}{
		{-time.Second, 0, 0},
		{0, 0, 0},
		{1, 1, 0},
		{time.Millisecond - 1, 1, 0},
		{time.Millisecond, 1, 1},
		{time.Millisecond + 1, 2, 1},
		{time.Hour, 3_600_000, 3_600_000},
		{math.MaxInt64, math.MaxInt64/1_000_000 + 1, math.MaxInt64 / 1_000_000},
	} {
		require.Equal(t, c.up, Ticks(c.d), "Ticks(%v)", c.d)
		require.Equal(t, c.elapsed, ElapsedTicks(c.d), "ElapsedTicks(%v)", c.d)
	}
}

func TestPollNSpreadsASlotOverCallsAndKeepsRemoveAndResetRight(t *testing.T) {
	var w Wheel[int]
	entries := make([]Entry[int], 100)
	// All in one level-1 slot, none at its first tick: deadlines 65..127.
	for i := range entries {
		entries[i].Value = i
		w.Insert(&entries[i], 65+uint64(i%63))
	}
	moves := 10
	require.Nil(t, w.PollN(100, &moves), "nothing is due before the slot is emptied")
	require.Zero(t, moves, "it stopped for the budget")
	require.Equal(t, uint64(64), w.Elapsed(), "time is held at the slot's start")
	next, ok := w.NextExpiration()
	require.True(t, ok)
	require.Equal(t, uint64(64), next, "a slot half emptied is due now")

	// Meanwhile: remove one still in the slot, move one later lazily and
	// one earlier than the slot.
	require.True(t, w.Remove(&entries[99]))
	w.Reset(&entries[98], 200)
	w.Reset(&entries[97], 10)
	require.Equal(t, 99, w.Len())

	fired := map[int]uint64{}
	for {
		moves := 7
		e := w.PollN(100, &moves)
		if e != nil {
			require.LessOrEqual(t, e.Deadline(), w.Elapsed(), "entry %d fired early", e.Value)
			fired[e.Value] = w.Elapsed()
			continue
		}
		if moves > 0 {
			break
		}
	}
	require.Equal(t, uint64(100), w.Elapsed())
	for i := range 97 {
		if 65+uint64(i%63) <= 100 {
			require.Contains(t, fired, i)
		} else {
			require.NotContains(t, fired, i)
		}
	}
	require.Contains(t, fired, 97, "the entry reset earlier fired")
	require.NotContains(t, fired, 98, "the entry reset later waits")
	require.NotContains(t, fired, 99, "the removed entry never fires")
	for e := w.Poll(200); e != nil; e = w.Poll(200) {
		fired[e.Value] = w.Elapsed()
	}
	require.Equal(t, uint64(200), fired[98])
	require.Zero(t, w.Len(), "every entry has left the wheel")
}

// A slot is emptied a part at a time, each at its own start: of 800
// entries armed in random order across a level-1 slot, the 104 of its
// first part (8 ticks) come out after moving those 104 alone (into level 0
// and then to pending), not after all 800 were moved.
func TestASlotIsEmptiedEarliestPartFirst(t *testing.T) {
	var w Wheel[int]
	const n = 800
	deadlines := make([]uint64, n)
	for i := range deadlines {
		deadlines[i] = 64 + uint64(i%64)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(n, func(i, j int) { deadlines[i], deadlines[j] = deadlines[j], deadlines[i] })
	entries := make([]Entry[int], n)
	for i := range entries {
		entries[i].Value = i
		w.Insert(&entries[i], deadlines[i])
	}
	require.Equal(t, uint8(1), entries[0].level)
	requireInvariants(t, &w)

	// Poll at tick 71, the end of the first part, 10 moves a call.
	first := 0
	for _, d := range deadlines {
		if d <= 71 {
			first++
		}
	}
	due, moves := 0, 0
	for due < first {
		budget := 10
		for e := w.PollN(71, &budget); e != nil; e = w.PollN(71, &budget) {
			require.LessOrEqual(t, e.Deadline(), uint64(71))
			due++
		}
		moves += 10 - budget
		requireInvariants(t, &w)
		require.LessOrEqual(t, moves, 2*first+10, "the entries due first waited behind later ones")
	}
	require.Equal(t, first, due)
	// The rest fire on time, and the wheel is consistent after.
	for tick := uint64(72); tick < 128; tick++ {
		for e := w.Poll(tick); e != nil; e = w.Poll(tick) {
			require.Equal(t, tick, e.Deadline())
			due++
		}
	}
	require.Equal(t, n, due)
	require.Zero(t, w.Len())
}
