// Package fdref guards a file descriptor that several goroutines use at once.
//
// A descriptor number is only a name: once it is closed the kernel hands the
// same number to the next file opened anywhere in the process. A goroutine
// that reads a descriptor another goroutine has just closed may therefore
// read somebody else's socket. State prevents that: every system call on the
// descriptor runs between Acquire and Release, Close only marks the
// descriptor closed, and whichever of Close and Release brings the count to
// zero on a closed descriptor is told to close it, exactly once.
package fdref

import "go.uber.org/atomic"

// State is the reference count and closed flag of one descriptor (or of a
// group of descriptors that live and die together, such as a Poll's epoll fd
// and its internal eventfd). The zero value is open with no references.
type State struct {
	// word holds the whole state so that every transition is one CAS:
	//
	//	bit 63     closed: Close has been called; Acquire fails from now on.
	//	bits 0-62  refs: Acquire calls not yet matched by Release.
	//
	// Transitions (any goroutine may make any of them):
	//	Acquire  (open, n)  -> (open, n+1)
	//	Release  (c, n)     -> (c, n-1)      reaching (closed, 0) closes the fd
	//	Close    (open, n)  -> (closed, n)   with n == 0 it closes the fd itself
	word atomic.Uint64
}

const (
	closedBit = uint64(1) << 63
	refMask   = closedBit - 1
)

// Acquire takes a reference for one use of the descriptor. It reports false,
// taking nothing, when the descriptor is closed.
func (s *State) Acquire() bool {
	for {
		old := s.word.Load()
		if old&closedBit != 0 {
			return false
		}
		// (open, n) -> (open, n+1)
		if s.word.CompareAndSwap(old, old+1) {
			return true
		}
	}
}

// Release gives back a reference taken by Acquire. It reports true when the
// caller must now close the descriptor: Close was called and this was the
// last reference.
func (s *State) Release() (closeNow bool) {
	for {
		old := s.word.Load()
		if old&refMask == 0 {
			// Release without Acquire: a bug in the caller. Refuse rather than
			// wrap the count into the closed bit.
			return false
		}
		// (c, n) -> (c, n-1)
		next := old - 1
		if s.word.CompareAndSwap(old, next) {
			return next == closedBit
		}
	}
}

// Close marks the descriptor closed. first is false when it was already
// closed. closeNow is true when no reference is held, so the caller must
// close the descriptor now; otherwise the last Release will say so.
func (s *State) Close() (first, closeNow bool) {
	for {
		old := s.word.Load()
		if old&closedBit != 0 {
			return false, false
		}
		// (open, n) -> (closed, n)
		if s.word.CompareAndSwap(old, old|closedBit) {
			return true, old&refMask == 0
		}
	}
}

// IsClosed reports whether Close has been called.
func (s *State) IsClosed() bool { return s.word.Load()&closedBit != 0 }
