//go:build linux

package poller

import (
	"encoding/binary"
	"errors"
	"time"

	"go.uber.org/atomic"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/fdref"
)

// sysEvent is the kernel's event record.
type sysEvent = unix.EpollEvent

// wakeToken is the epoll data of the internal wake-up. epoll gives each
// registration 64 bits of data and the caller may use every Token value, so
// the internal eventfd cannot have a value of its own. It borrows the
// largest one: an event carrying it is checked against the eventfd (a read
// that says whether the internal wake-up fired) and also handed to the caller
// once the caller has registered something with that token. The caller may
// then see a spurious event, never lose one.
const wakeToken = ^Token(0)

// epoll flags for each Interest bit. Readable carries EPOLLRDHUP so a peer's
// half-close is seen as read-closed.
func epollFlags(i Interest) uint32 {
	var f uint32
	if i&Readable != 0 {
		f |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if i&Writable != 0 {
		f |= unix.EPOLLOUT
	}
	if i&Priority != 0 {
		f |= unix.EPOLLPRI
	}
	if i&Level == 0 {
		f |= unix.EPOLLET
	}
	if i&Oneshot != 0 {
		f |= unix.EPOLLONESHOT
	}
	return f
}

// eventFlagsOf maps what epoll reported onto Event's kinds:
//
//	readable      IN or PRI
//	writable      OUT
//	error         ERR
//	read-closed   HUP, or IN with RDHUP (the peer's half-close)
//	write-closed  HUP, or OUT with ERR, or ERR alone (a pipe whose reader left)
//	priority      PRI
//
// RDHUP alone never makes write-closed: a half-closed socket can still be
// written to, and saying otherwise sends writers into a spin.
func eventFlagsOf(e uint32) eventFlags {
	var f eventFlags
	if e&(unix.EPOLLIN|unix.EPOLLPRI) != 0 {
		f |= flagReadable
	}
	if e&unix.EPOLLOUT != 0 {
		f |= flagWritable
	}
	if e&unix.EPOLLERR != 0 {
		f |= flagError
	}
	if e&unix.EPOLLHUP != 0 || (e&unix.EPOLLIN != 0 && e&unix.EPOLLRDHUP != 0) {
		f |= flagReadClosed
	}
	if e&unix.EPOLLHUP != 0 || (e&unix.EPOLLOUT != 0 && e&unix.EPOLLERR != 0) || e == unix.EPOLLERR {
		f |= flagWriteClosed
	}
	if e&unix.EPOLLPRI != 0 {
		f |= flagPriority
	}
	return f
}

func setToken(e *unix.EpollEvent, t Token) {
	e.Fd = int32(uint32(t))
	e.Pad = int32(uint32(t >> 32))
}

func tokenOf(e *unix.EpollEvent) Token {
	return Token(uint32(e.Fd)) | Token(uint32(e.Pad))<<32
}

// selectorShared is what a selector and its clones have in common.
type selectorShared struct {
	// wakeFd is the internal eventfd, or -1.
	wakeFd int
	// wakeTokenUsed becomes true, and stays so, once the caller registers a
	// source with token wakeToken.
	wakeTokenUsed atomic.Bool
}

type selector struct {
	ref    fdref.State
	epfd   int
	shared *selectorShared
	owner  bool // the Poll's own selector: it owns the internal eventfd
}

func newSelector() (*selector, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, wrapSys("epoll_create1", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, wrapSys("eventfd", err)
	}
	s := &selector{epfd: epfd, shared: &selectorShared{wakeFd: efd}, owner: true}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}
	setToken(&ev, wakeToken)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, wrapSys("epoll_ctl", err)
	}
	return s, nil
}

func (s *selector) clone() (*selector, error) {
	fd, err := dupCloexec(s.epfd)
	if err != nil {
		return nil, err
	}
	return &selector{epfd: fd, shared: s.shared}, nil
}

func (s *selector) ctl(op, fd int, t Token, i Interest) error {
	ev := unix.EpollEvent{Events: epollFlags(i)}
	setToken(&ev, t)
	if t == wakeToken {
		// Before the kernel call, not after: an event for the new source
		// may arrive before epoll_ctl returns, and must not be dropped.
		s.shared.wakeTokenUsed.Store(true)
	}
	return errnoErr(unix.EpollCtl(s.epfd, op, fd, &ev))
}

func (s *selector) register(fd int, t Token, i Interest) error {
	return s.ctl(unix.EPOLL_CTL_ADD, fd, t, i)
}

func (s *selector) reregister(fd int, t Token, i Interest) error {
	return s.ctl(unix.EPOLL_CTL_MOD, fd, t, i)
}

func (s *selector) deregister(fd int) error {
	return errnoErr(unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, fd, nil))
}

func (s *selector) wait(ev *Events, timeout time.Duration) (woken bool, err error) {
	buf := ev.sys[:cap(ev.list)-len(ev.list)]
	n, err := unix.EpollWait(s.epfd, buf, timeoutMillis(timeout))
	if err != nil {
		return false, err
	}
	for k := range buf[:n] {
		e := &buf[k]
		t := tokenOf(e)
		if t == wakeToken {
			if s.drainWake() {
				woken = true
			}
			if !s.shared.wakeTokenUsed.Load() {
				continue
			}
		}
		ev.push(t, eventFlagsOf(e.Events))
	}
	return woken, nil
}

// drainWake reads the internal eventfd, reporting whether it had been fired.
func (s *selector) drainWake() bool {
	var b [8]byte
	n, err := unix.Read(s.shared.wakeFd, b[:])
	return err == nil && n == 8
}

func (s *selector) wake() error {
	return eventfdWrite(s.shared.wakeFd)
}

func (s *selector) destroy() {
	if s.owner {
		unix.Close(s.shared.wakeFd)
	}
	unix.Close(s.epfd)
}

// eventfdOne is the 1 an eventfd write adds, in the host's byte order. It
// is a package variable, only ever read, so that a write's buffer never
// escapes to the heap (the race detector's instrumentation would make a
// local one escape).
var eventfdOne = func() (b [8]byte) {
	binary.NativeEndian.PutUint64(b[:], 1)
	return b
}()

// eventfdWrite adds one to an eventfd. A counter at its maximum refuses the
// write with EAGAIN; the counter is then read back to zero (a pending event
// is still pending: the fd stays readable until read, and edge-triggered
// watchers were told when it first became so) and the write tried again.
func eventfdWrite(fd int) error {
	for {
		// A non-blocking write to an eventfd never sleeps, so it is never
		// interrupted: no EINTR to retry.
		_, err := unix.Write(fd, eventfdOne[:])
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EAGAIN) {
			return err
		}
		var b [8]byte
		if _, err := unix.Read(fd, b[:]); err != nil && !errors.Is(err, unix.EAGAIN) {
			return err
		}
	}
}

// wakerSys is a user Waker's eventfd, registered readable and
// edge-triggered: every write is a new edge, so nothing needs to read it.
type wakerSys struct {
	fd int
}

func (w *wakerSys) open(r *Registry, t Token) error {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return wrapSys("eventfd", err)
	}
	if err := r.sel.register(fd, t, Readable); err != nil {
		unix.Close(fd)
		return err
	}
	w.fd = fd
	return nil
}

func (w *wakerSys) wake() error { return eventfdWrite(w.fd) }

// close closes the eventfd, which also removes it from the epoll set.
func (w *wakerSys) close() { unix.Close(w.fd) }
