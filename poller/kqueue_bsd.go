//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/fdref"
)

// sysEvent is the kernel's event record.
type sysEvent = unix.Kevent_t

// kqueue keeps one filter per readiness kind (EVFILT_READ, EVFILT_WRITE),
// each reported as an event of its own, and each carrying a udata word that
// could hold the token. metal leaves udata nil: golang.org/x/sys declares it
// a pointer, and a token stored there would look to Go's garbage collector
// like a wild pointer. Tokens live instead in a table keyed by descriptor,
// which also gives kqueue the misuse errors epoll reports on its own
// (registering twice, changing what is not registered) and lets a Poll drop
// any event that was queued before its source was deregistered.

// registration is what the table knows of one registered descriptor.
type registration struct {
	token    Token
	interest Interest
}

// selectorShared is what a selector and its clones have in common.
type selectorShared struct {
	mu    sync.RWMutex
	fds   map[int]registration // registered descriptors
	users map[uint64]Token     // EVFILT_USER idents of Wakers
}

type selector struct {
	ref    fdref.State
	kq     int
	shared *selectorShared
	owner  bool         // the Poll's own selector: it owns the internal wake-up
	wakeup internalWake // the internal wake-up; zero in clones
}

func newSelector() (*selector, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, wrapSys("kqueue", err)
	}
	// kqueue(2) has no close-on-exec flag everywhere; set it at once.
	if _, err := unix.FcntlInt(uintptr(kq), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		unix.Close(kq)
		return nil, wrapSys("fcntl(F_SETFD)", err)
	}
	s := &selector{
		kq:     kq,
		shared: &selectorShared{fds: make(map[int]registration), users: make(map[uint64]Token)},
		owner:  true,
	}
	if err := s.wakeup.open(s); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return s, nil
}

func (s *selector) clone() (*selector, error) {
	fd, err := dupCloexec(s.kq)
	if err != nil {
		return nil, err
	}
	return &selector{kq: fd, shared: s.shared}, nil
}

// kqFlags is the flags word for adding a filter with interest i.
func kqFlags(i Interest) int {
	f := unix.EV_ADD | evReceipt
	if i&Level == 0 {
		f |= unix.EV_CLEAR
	}
	if i&Oneshot != 0 {
		f |= unix.EV_ONESHOT
	}
	return f
}

// wantsRead reports whether i needs EVFILT_READ (Priority has no filter of
// its own on kqueue and rides on the read filter).
func wantsRead(i Interest) bool { return i&(Readable|Priority) != 0 }

// apply submits changes and checks each one's outcome. Errors listed in
// ignore (ENOENT for a filter that is already gone, EPIPE for a write filter
// on a pipe whose reader has left) are not failures.
//
// With EV_RECEIPT every change comes back as a receipt and no pending event
// is consumed. Where EV_RECEIPT is missing (NetBSD in golang.org/x/sys) the
// changes go one at a time with no event list, so kevent reports a failed
// change as its own error and can never swallow an event.
func (s *selector) apply(changes []unix.Kevent_t, ignore ...unix.Errno) error {
	if evReceipt == 0 {
		for k := range changes {
			_, err := unix.Kevent(s.kq, changes[k:k+1], nil, nil)
			if errno, ok := err.(unix.Errno); ok && errorsIn(errno, ignore) {
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	n, err := unix.Kevent(s.kq, changes, changes, nil)
	if err != nil {
		return err
	}
	for _, c := range changes[:n] {
		if c.Flags&unix.EV_ERROR == 0 || c.Data == 0 {
			continue
		}
		if errno := unix.Errno(c.Data); !errorsIn(errno, ignore) {
			return errno
		}
	}
	return nil
}

func errorsIn(e unix.Errno, list []unix.Errno) bool {
	for _, l := range list {
		if e == l {
			return true
		}
	}
	return false
}

// filters lists the changes that make fd's filters match interest i, given
// the interest it had (0 if none).
func filters(fd int, had, i Interest) (changes [2]unix.Kevent_t, n int) {
	add := kqFlags(i)
	for _, f := range [...]struct {
		filter    int
		had, want bool
	}{
		{unix.EVFILT_READ, wantsRead(had), wantsRead(i)},
		{unix.EVFILT_WRITE, had&Writable != 0, i&Writable != 0},
	} {
		switch {
		case f.want:
			unix.SetKevent(&changes[n], fd, f.filter, add)
			n++
		case f.had:
			unix.SetKevent(&changes[n], fd, f.filter, unix.EV_DELETE|evReceipt)
			n++
		}
	}
	return changes, n
}

func (s *selector) register(fd int, t Token, i Interest) error {
	sh := s.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.fds[fd]; ok && s.alive(fd, old.interest) {
		return ErrAlreadyRegistered
	}
	changes, n := filters(fd, 0, i)
	if err := s.apply(changes[:n], unix.EPIPE); err != nil {
		return errnoErr(err)
	}
	sh.fds[fd] = registration{token: t, interest: i}
	return nil
}

// alive reports whether the kernel still holds a filter of a descriptor the
// table lists. A descriptor closed without Deregister loses its filters to
// the kernel but not its table entry; the number may since have been reused
// for a new file, which must then register normally.
func (s *selector) alive(fd int, i Interest) bool {
	var c [1]unix.Kevent_t
	filter := unix.EVFILT_WRITE
	if wantsRead(i) {
		filter = unix.EVFILT_READ
	}
	unix.SetKevent(&c[0], fd, filter, unix.EV_ENABLE|evReceipt)
	return s.apply(c[:]) == nil
}

func (s *selector) reregister(fd int, t Token, i Interest) error {
	sh := s.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.fds[fd]
	if !ok {
		return ErrNotRegistered
	}
	changes, n := filters(fd, old.interest, i)
	if err := s.apply(changes[:n], unix.ENOENT, unix.EPIPE); err != nil {
		return errnoErr(err)
	}
	sh.fds[fd] = registration{token: t, interest: i}
	return nil
}

func (s *selector) deregister(fd int) error {
	sh := s.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.fds[fd]
	if !ok {
		return ErrNotRegistered
	}
	delete(sh.fds, fd)
	changes, n := filters(fd, old.interest, 0)
	// ENOENT: a oneshot filter that fired is gone already.
	return errnoErr(s.apply(changes[:n], unix.ENOENT))
}

func (s *selector) wait(ev *Events, timeout time.Duration) (woken bool, err error) {
	buf := ev.sys[:cap(ev.list)-len(ev.list)]
	var ts unix.Timespec
	tsp := &ts
	if ms := timeoutMillis(timeout); ms >= 0 {
		ts = unix.NsecToTimespec(int64(ms) * int64(time.Millisecond))
	} else {
		tsp = nil
	}
	n, err := unix.Kevent(s.kq, nil, buf, tsp)
	if err != nil {
		return false, err
	}
	sh := s.shared
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	for k := range buf[:n] {
		e := &buf[k]
		if s.wakeup.is(e) {
			woken = true
			continue
		}
		var (
			t     Token
			flags eventFlags
		)
		switch e.Filter {
		case unix.EVFILT_READ:
			r, ok := sh.fds[int(e.Ident)]
			if !ok {
				continue // deregistered after the kernel queued the event
			}
			t, flags = r.token, flagReadable
			if e.Flags&unix.EV_EOF != 0 {
				flags |= flagReadClosed
			}
		case unix.EVFILT_WRITE:
			r, ok := sh.fds[int(e.Ident)]
			if !ok {
				continue
			}
			t, flags = r.token, flagWritable
			if e.Flags&unix.EV_EOF != 0 {
				flags |= flagWriteClosed
			}
		default:
			var ok bool
			if t, ok = userToken(sh, e); !ok {
				continue
			}
			flags = flagReadable
		}
		// EV_EOF with fflags set carries the socket's pending error.
		if e.Flags&unix.EV_ERROR != 0 || (e.Flags&unix.EV_EOF != 0 && e.Fflags != 0) {
			flags |= flagError
		}
		ev.push(t, flags)
	}
	return woken, nil
}

func (s *selector) wake() error { return s.wakeup.wake(s) }

func (s *selector) destroy() {
	if s.owner {
		s.wakeup.close()
	}
	unix.Close(s.kq)
}
