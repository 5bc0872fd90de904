package runtime

import (
	"sync"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// This file is one registered source's readiness as the runtime keeps it
// (tokio's ScheduledIo): a word the I/O driver ORs events into and a task
// clears after it hit would-block, and the wakers of the task waiting to
// read and the task waiting to write.
//
// The word carries the driver's tick, the number of the poller turn that
// last set it. A task that saw readiness at tick 7, tried to read and got
// would-block clears the readiness only if the tick is still 7: if the
// driver has delivered a newer edge since (tick 8), the clear would erase
// it, and edge-triggered epoll would never deliver it again. So a clear
// that loses to a newer edge leaves the readiness set, and the task's next
// read finds the new bytes.

// ioWord is one snapshot of a source's readiness word.
//
//	bits 0-5    readiness    readable 1, writable 2, read-closed 4,
//	                         write-closed 8, error 16, priority 32
//	bits 16-31  tick         the driver turn (mod 2^16) of the last event
//	bits 32-47  generation   the slot's generation; an event carries the
//	                         generation of its token, and one for another
//	                         generation (a source gone, its slot reused) is
//	                         dropped
//	bit  48     shutdown     the source was closed or the runtime shut
//	                         down: every readiness reports it, nothing waits
//
// Who writes: the driver ORs readiness and sets the tick (setReadiness); a
// task clears readiness bits at a tick it saw (clearReadiness); Close and
// shutdown set the shutdown bit; the slab bumps the generation when it
// reuses the slot (only between driver turns, see driver.go).
type ioWord uint64

const (
	readyReadable    ioWord = 1 << 0
	readyWritable    ioWord = 1 << 1
	readyReadClosed  ioWord = 1 << 2
	readyWriteClosed ioWord = 1 << 3
	readyError       ioWord = 1 << 4
	readyPriority    ioWord = 1 << 5
	readyMask        ioWord = 0x3f

	tickShift = 16
	tickMask  = 0xffff
	genShift  = 32
	genMask   = 0xffff

	ioShutdown ioWord = 1 << 48
)

func (w ioWord) tick() uint16 { return uint16(w >> tickShift & tickMask) }
func (w ioWord) generation() uint16 {
	return uint16(w >> genShift & genMask)
}
func (w ioWord) isShutdown() bool { return w&ioShutdown != 0 }

// readinessOf converts a poller event into readiness bits.
func readinessOf(ev poller.Event) ioWord {
	var r ioWord
	if ev.IsReadable() {
		r |= readyReadable
	}
	if ev.IsWritable() {
		r |= readyWritable
	}
	if ev.IsReadClosed() {
		r |= readyReadClosed
	}
	if ev.IsWriteClosed() {
		r |= readyWriteClosed
	}
	if ev.IsError() {
		r |= readyError
	}
	if ev.IsPriority() {
		r |= readyPriority
	}
	return r
}

// interestMask is the readiness that satisfies a wait for interest: a
// reader is satisfied by bytes, the peer's half-close or an error; a
// writer by room, the write side closing or an error.
func interestMask(i poller.Interest) ioWord {
	var m ioWord
	if i.IsReadable() {
		m |= readyReadable | readyReadClosed
	}
	if i.IsWritable() {
		m |= readyWritable | readyWriteClosed
	}
	if i.IsPriority() {
		m |= readyPriority | readyReadClosed
	}
	return m | readyError
}

// Ready is a snapshot of a source's readiness, as PollReady returns it. Hand
// it back to ClearReady after an operation hit would-block.
type Ready struct {
	bits ioWord // readiness bits and shutdown
	tick uint16
}

// IsReadable reports bytes (or a connection) to read.
func (r Ready) IsReadable() bool { return r.bits&readyReadable != 0 }

// IsWritable reports room to write.
func (r Ready) IsWritable() bool { return r.bits&readyWritable != 0 }

// IsReadClosed reports that the peer will send nothing more.
func (r Ready) IsReadClosed() bool { return r.bits&readyReadClosed != 0 }

// IsWriteClosed reports that nothing more can be written.
func (r Ready) IsWriteClosed() bool { return r.bits&readyWriteClosed != 0 }

// IsError reports an error pending on the source.
func (r Ready) IsError() bool { return r.bits&readyError != 0 }

// IsPriority reports priority (out-of-band) data.
func (r Ready) IsPriority() bool { return r.bits&readyPriority != 0 }

// IsClosed reports that the IO was closed or its runtime shut down: no
// readiness will come any more.
func (r Ready) IsClosed() bool { return r.bits&ioShutdown != 0 }

// scheduledIO is one slot of the driver's slab.
type scheduledIO struct {
	word atomic.Uint64 // an ioWord

	mu     sync.Mutex
	reader task.Waker // woken by readable, read-closed, error
	writer task.Waker // woken by writable, write-closed, error
}

func (s *scheduledIO) load() ioWord { return ioWord(s.word.Load()) }

// setReadiness is the driver's: it ORs r in at tick if the event's
// generation is the slot's. It reports whether the event was taken.
func (s *scheduledIO) setReadiness(gen uint16, tick uint16, r ioWord) bool {
	for {
		cur := s.load()
		if cur.generation() != gen || cur.isShutdown() {
			return false
		}
		next := cur&^(tickMask<<tickShift) | ioWord(tick)<<tickShift | r
		if s.word.CompareAndSwap(uint64(cur), uint64(next)) {
			return true
		}
	}
}

// clearReadiness clears what r saw, unless a newer event arrived since.
// The closed and error bits stay: they do not go away.
func (s *scheduledIO) clearReadiness(gen uint16, r Ready) {
	clear := r.bits & (readyReadable | readyWritable | readyPriority)
	for {
		cur := s.load()
		if cur.generation() != gen || cur.tick() != r.tick || cur&clear == 0 {
			return
		}
		if s.word.CompareAndSwap(uint64(cur), uint64(cur&^clear)) {
			return
		}
	}
}

// shutdown sets the shutdown bit and wakes both waiters.
func (s *scheduledIO) shutdown() {
	for {
		cur := s.load()
		if cur.isShutdown() {
			break
		}
		if s.word.CompareAndSwap(uint64(cur), uint64(cur|ioShutdown)) {
			break
		}
	}
	s.wake(readyMask)
}

// reset readies the slot for a new source: generation gen, no readiness,
// no waiters.
func (s *scheduledIO) reset(gen uint16) {
	s.mu.Lock()
	s.reader = task.Waker{}
	s.writer = task.Waker{}
	s.mu.Unlock()
	s.word.Store(uint64(ioWord(gen) << genShift))
}

// wake wakes the waiters that readiness r satisfies.
func (s *scheduledIO) wake(r ioWord) {
	var reader, writer task.Waker
	s.mu.Lock()
	if r&(readyReadable|readyReadClosed|readyError|readyPriority) != 0 {
		reader, s.reader = s.reader, task.Waker{}
	}
	if r&(readyWritable|readyWriteClosed|readyError) != 0 {
		writer, s.writer = s.writer, task.Waker{}
	}
	s.mu.Unlock()
	reader.Wake()
	writer.Wake()
}

// pollReady returns the readiness for interest, or leaves cx's waker to be
// woken by it. Reads and writes have a waker each, so a task reading and
// another writing the same socket are both woken. gen is the generation
// the caller registered with: a slot that moved on to another source
// reports closed.
func (s *scheduledIO) pollReady(cx *task.Context, i poller.Interest, gen uint16) (Ready, bool) {
	mask := interestMask(i)
	cur := s.load()
	if cur.generation() != gen {
		return Ready{bits: ioShutdown}, true
	}
	if r := cur & mask; r != 0 || cur.isShutdown() {
		return Ready{bits: r | cur&ioShutdown, tick: cur.tick()}, true
	}
	w := cx.Waker()
	s.mu.Lock()
	if i.IsReadable() || i.IsPriority() {
		if !s.reader.WillWake(w) {
			s.reader = w
		}
	}
	if i.IsWritable() {
		if !s.writer.WillWake(w) {
			s.writer = w
		}
	}
	s.mu.Unlock()
	// An event between the first load and the waker being in place woke
	// nobody: look again.
	cur = s.load()
	if cur.generation() != gen {
		return Ready{bits: ioShutdown}, true
	}
	if r := cur & mask; r != 0 || cur.isShutdown() {
		return Ready{bits: r | cur&ioShutdown, tick: cur.tick()}, true
	}
	return Ready{}, false
}
