//go:build darwin || dragonfly || freebsd

package poller

import (
	"go.uber.org/atomic"
	"golang.org/x/sys/unix"
)

// Here kqueue has EVFILT_USER: a filter with no descriptor behind it,
// fired by a kevent call with NOTE_TRIGGER. Wakers and the internal wake-up
// are such filters. Their idents come from one process-wide counter that
// starts at 1: two wakers on one kqueue with the same ident (say, both 0)
// would be one filter, and waking either would wake only the first token.
var nextUserIdent atomic.Uint64

func newUserIdent() uint64 { return nextUserIdent.Inc() }

// userFilter adds (or, with NOTE_TRIGGER, fires) an EVFILT_USER filter.
func userFilter(s *selector, ident uint64, flags int, fflags uint32) error {
	var c [1]unix.Kevent_t
	unix.SetKevent(&c[0], int(ident), unix.EVFILT_USER, flags|evReceipt)
	c[0].Fflags = fflags
	return s.apply(c[:])
}

// internalWake is the Poll's own EVFILT_USER filter.
type internalWake struct {
	ident uint64
}

func (w *internalWake) open(s *selector) error {
	w.ident = newUserIdent()
	if err := userFilter(s, w.ident, unix.EV_ADD|unix.EV_CLEAR, 0); err != nil {
		return wrapSys("kevent(EVFILT_USER)", err)
	}
	return nil
}

func (w *internalWake) is(e *unix.Kevent_t) bool {
	return e.Filter == unix.EVFILT_USER && uint64(e.Ident) == w.ident
}

func (w *internalWake) wake(s *selector) error {
	return userFilter(s, w.ident, 0, unix.NOTE_TRIGGER)
}

func (w *internalWake) close() {}

// userToken finds the token of a Waker's event.
func userToken(sh *selectorShared, e *unix.Kevent_t) (Token, bool) {
	if e.Filter != unix.EVFILT_USER {
		return 0, false
	}
	t, ok := sh.users[uint64(e.Ident)]
	return t, ok
}

// wakerSys is a user Waker: an EVFILT_USER filter on the registry's kqueue.
type wakerSys struct {
	reg   *Registry
	ident uint64
}

func (w *wakerSys) open(r *Registry, t Token) error {
	w.reg, w.ident = r, newUserIdent()
	sh := r.sel.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := userFilter(r.sel, w.ident, unix.EV_ADD|unix.EV_CLEAR, 0); err != nil {
		return wrapSys("kevent(EVFILT_USER)", err)
	}
	sh.users[w.ident] = t
	return nil
}

func (w *wakerSys) wake() error {
	if err := w.reg.acquire("wake"); err != nil {
		return err
	}
	defer w.reg.release()
	return userFilter(w.reg.sel, w.ident, 0, unix.NOTE_TRIGGER)
}

func (w *wakerSys) close() {
	if w.reg.acquire("close waker") != nil {
		return // the kqueue is gone, and the filter with it
	}
	defer w.reg.release()
	sh := w.reg.sel.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	delete(sh.users, w.ident)
	_ = userFilter(w.reg.sel, w.ident, unix.EV_DELETE, 0)
}
