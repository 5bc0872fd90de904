package runtime

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/metalio/metal/poller"
	"go.uber.org/atomic"
)

// The slab holds one scheduledIO per registered source. A source's poller
// token is its slot's index and the slot's generation, never a pointer: an
// event that outlives its source (queued in the kernel, or in an events
// buffer being dispatched) names a generation the slot no longer has, and
// is dropped.
//
// Slots live in pages of 32, 64, 128, ... so a slot never moves once made
// (a task keeps a pointer to its own), and the driver finds a slot from an
// index with two loads and no lock. Freed slots are reused, so in steady
// state registering and deregistering allocate nothing.

const (
	firstPageSize = 32
	maxPages      = 26 // about 2^31 slots: more than any fd limit
)

type slabPage struct {
	slots []scheduledIO
}

type slab struct {
	pages [maxPages]atomic.Pointer[slabPage]

	mu   sync.Mutex
	free []uint32     // released slots, reused first
	next uint32       // the lowest index never handed out
	live atomic.Int64 // slots handed out and not released; written under mu
}

// pageOf returns the page and the offset in it of index i.
func pageOf(i uint32) (page int, off uint32) {
	n := i/firstPageSize + 1
	page = bits.Len32(n) - 1
	start := uint32(firstPageSize) * (1<<page - 1)
	return page, i - start
}

// newSlab makes a slab whose index 0 is never handed out: token 0 is the
// driver's own wake-up.
func newSlab() *slab {
	return &slab{next: 1}
}

// alloc hands out a free slot: its index and its current generation.
func (s *slab) alloc() (uint32, uint16, *scheduledIO, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = s.next
		page, _ := pageOf(i)
		if page >= maxPages {
			return 0, 0, nil, fmt.Errorf("runtime: register: %w", poller.ErrNoCapacity)
		}
		if s.pages[page].Load() == nil {
			size := firstPageSize << page
			s.pages[page].Store(&slabPage{slots: make([]scheduledIO, size)})
		}
		s.next++
	}
	s.live.Inc()
	sio := s.get(i)
	return i, sio.load().generation(), sio, nil
}

// get returns slot i, or nil if it was never made.
func (s *slab) get(i uint32) *scheduledIO {
	page, off := pageOf(i)
	if page >= maxPages {
		return nil
	}
	p := s.pages[page].Load()
	if p == nil {
		return nil
	}
	return &p.slots[off]
}

// release takes slot i back: its generation moves on, so events and IO
// handles for the old source no longer match it.
func (s *slab) release(i uint32) {
	sio := s.get(i)
	sio.reset(sio.load().generation() + 1)
	s.mu.Lock()
	s.free = append(s.free, i)
	s.live.Dec()
	s.mu.Unlock()
}

// Live returns the number of slots handed out and not released.
func (s *slab) Live() int { return int(s.live.Load()) }

// each calls fn for every slot ever made.
func (s *slab) each(fn func(*scheduledIO)) {
	s.mu.Lock()
	n := s.next
	s.mu.Unlock()
	for i := uint32(1); i < n; i++ {
		fn(s.get(i))
	}
}

// tokenOf packs a slot's index and generation into a poller token.
func tokenOf(i uint32, gen uint16) poller.Token {
	return poller.Token(uint64(i) | uint64(gen)<<32)
}

// slotOf unpacks a token.
func slotOf(t poller.Token) (uint32, uint16) {
	return uint32(t), uint16(t >> 32)
}
