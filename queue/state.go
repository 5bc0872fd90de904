package queue

// This file is nothing but a readiness node's state word: its layout, and
// every transition made on it, each a CAS loop that names what it does.
// The queue that moves nodes is in mpsc.go; the poller that drives both is
// in package poller.

// State is one snapshot of a node's state word.
//
//	bits 0-3    readiness     what SetReadiness last said the source is ready for
//	bits 4-7    interest      what the registration wants to hear about
//	bit  8      level         level-triggered (clear: edge-triggered)
//	bit  9      oneshot       disarm the interest after one event
//	bits 10-11  read pos      the token slot the poller reads (0-2)
//	bits 12-13  write pos     the token slot last written by Update (0-2)
//	bit  14     queued        the node is in the readiness queue
//	bit  15     dropped       the registration is gone; the poller discards it
//
// Readiness and interest use the same kinds (Readable 1, Writable 2,
// Priority 4, and one spare bit): the poller's Interest bits. Every field is
// written through a mask, so no field can spill into the next.
//
// Who moves what:
//
//	SetReadiness (any goroutine)    readiness; queued 0->1
//	Update (registration, serialized by the node's lock)
//	                                interest, mode, write pos; queued 0->1
//	Drop (any goroutine, once)      dropped 0->1
//	Dequeued (the poller only)      read pos := write pos; queued 1->0,
//	                                interest -> 0 for a fired oneshot
//	Release (the poller, on close)  queued 1->0
//
// The queued flag is the queue's ticket: only the transition that sets it
// may enqueue the node, and only the poller clears it. So a node is in the
// queue at most once, and a Set that finds it queued already needs to do
// nothing more: the poller will read the newest readiness when it gets there.
type State uint64

const (
	readinessShift = 0
	interestShift  = 4
	kindMask       = 0xf

	levelBit   State = 1 << 8
	oneshotBit State = 1 << 9

	readPosShift  = 10
	writePosShift = 12
	posMask       = 0x3

	queuedBit  State = 1 << 14
	droppedBit State = 1 << 15
)

// Readiness returns the readiness field.
func (s State) Readiness() uint8 { return uint8(s>>readinessShift) & kindMask }

// Interest returns the interest field.
func (s State) Interest() uint8 { return uint8(s>>interestShift) & kindMask }

// Effective returns the readiness the registration wants to hear about.
func (s State) Effective() uint8 { return s.Readiness() & s.Interest() }

// IsLevel reports level-triggered delivery.
func (s State) IsLevel() bool { return s&levelBit != 0 }

// IsOneshot reports oneshot delivery.
func (s State) IsOneshot() bool { return s&oneshotBit != 0 }

// IsQueued reports whether the node is in the readiness queue.
func (s State) IsQueued() bool { return s&queuedBit != 0 }

// IsDropped reports whether the registration is gone.
func (s State) IsDropped() bool { return s&droppedBit != 0 }

// ReadPos is the token slot the poller reads.
func (s State) ReadPos() int { return int(s>>readPosShift) & posMask }

// WritePos is the token slot last written.
func (s State) WritePos() int { return int(s>>writePosShift) & posMask }

func (s State) withReadiness(r uint8) State {
	return s&^(kindMask<<readinessShift) | State(r&kindMask)<<readinessShift
}

func (s State) withInterest(i uint8) State {
	return s&^(kindMask<<interestShift) | State(i&kindMask)<<interestShift
}

func (s State) withMode(level, oneshot bool) State {
	s &^= levelBit | oneshotBit
	if level {
		s |= levelBit
	}
	if oneshot {
		s |= oneshotBit
	}
	return s
}

func (s State) withReadPos(p int) State {
	return s&^(posMask<<readPosShift) | State(p&posMask)<<readPosShift
}

func (s State) withWritePos(p int) State {
	return s&^(posMask<<writePosShift) | State(p&posMask)<<writePosShift
}

// nextWritePos picks the token slot an Update may write: neither the one
// the poller may be reading nor the one last written (which the poller may
// be about to read). Three slots always leave one.
func (s State) nextWritePos() int {
	r, w := s.ReadPos(), s.WritePos()
	for p := range 3 {
		if p != r && p != w {
			return p
		}
	}
	panic("unreachable: three slots, two taken")
}

// Load returns the node's state.
func (n *Node) Load() State { return State(n.state.Load()) }

// SetReadiness replaces the node's readiness. It reports whether the caller
// must enqueue the node: the new readiness is of interest and the node was
// not queued. A dropped node is left alone, and dropped says so.
//
// Even readiness equal to the old one enqueues an unqueued node: a Set that
// names a kind of interest always surfaces an event.
func (n *Node) SetReadiness(ready uint8) (enqueue, dropped bool) {
	for {
		old := n.Load()
		if old.IsDropped() {
			return false, true
		}
		next := old.withReadiness(ready)
		enqueue = next.Effective() != 0 && !old.IsQueued()
		if enqueue {
			next |= queuedBit
		}
		// readiness := ready; queued 0->1 when it now matters
		if next == old || n.state.CompareAndSwap(uint64(old), uint64(next)) {
			return enqueue, false
		}
	}
}

// Update sets the token, interest and mode of a registration (the caller
// holds whatever serializes updates of this node). It reports whether the
// caller must enqueue the node: its readiness is now of interest and it was
// not queued.
func (n *Node) Update(token uint64, interest uint8, level, oneshot bool) (enqueue bool) {
	for {
		old := n.Load()
		if old.IsDropped() {
			return false
		}
		pos := old.nextWritePos()
		// The slot is neither being read nor about to be: write it first,
		// then publish it with the CAS that moves write pos.
		n.tokens[pos].Store(token)
		next := old.withInterest(interest).withMode(level, oneshot).withWritePos(pos)
		enqueue = next.Effective() != 0 && !old.IsQueued()
		if enqueue {
			next |= queuedBit
		}
		// interest, mode, write pos := new; queued 0->1 when it now matters
		if n.state.CompareAndSwap(uint64(old), uint64(next)) {
			return enqueue
		}
	}
}

// Drop marks the registration gone. It reports false if it was already.
func (n *Node) Drop() (first bool) {
	for {
		old := n.Load()
		if old.IsDropped() {
			return false
		}
		// dropped 0->1
		if n.state.CompareAndSwap(uint64(old), uint64(old|droppedBit)) {
			return true
		}
	}
}

// Dequeued is the poller's transition for a node it has just taken off the
// queue. It returns the readiness to report (zero: no event), the token to
// report it with, and whether the node must go back on the queue (a
// level-triggered node that is still ready). A dropped node reports nothing
// and is not requeued: the poller lets go of it.
func (n *Node) Dequeued() (ready uint8, token uint64, requeue bool) {
	for {
		old := n.Load()
		if old.IsDropped() {
			return 0, 0, false
		}
		ready = old.Effective()
		next := old.withReadPos(old.WritePos())
		switch {
		case !old.IsLevel():
			next &^= queuedBit
			if old.IsOneshot() && ready != 0 {
				next = next.withInterest(0)
			}
		case ready == 0:
			next &^= queuedBit
		case old.IsOneshot():
			// A level-triggered oneshot fires once too.
			next = next.withInterest(0) &^ queuedBit
		}
		// read pos := write pos; queued 1->0 unless level and still ready;
		// interest -> 0 for a oneshot that fires
		if next == old || n.state.CompareAndSwap(uint64(old), uint64(next)) {
			return ready, n.tokens[next.ReadPos()].Load(), next.IsQueued()
		}
	}
}

// release clears the queued flag of a node the queue let go of without the
// poller reading it (the queue closed).
func (n *Node) release() {
	for {
		old := n.Load()
		// queued 1->0
		if !old.IsQueued() || n.state.CompareAndSwap(uint64(old), uint64(old&^queuedBit)) {
			return
		}
	}
}
