//go:build netbsd || openbsd

package poller

import (
	"errors"

	"golang.org/x/sys/unix"
)

// golang.org/x/sys offers no EVFILT_USER here, so wake-ups travel through a
// non-blocking pipe whose read end is registered edge-triggered.

// internalWake is the Poll's own pipe.
type internalWake struct {
	r, w int
}

func (w *internalWake) open(s *selector) error {
	r, wr, err := openPipe()
	if err != nil {
		return err
	}
	var c [1]unix.Kevent_t
	unix.SetKevent(&c[0], r, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR|evReceipt)
	if err := s.apply(c[:]); err != nil {
		unix.Close(r)
		unix.Close(wr)
		return wrapSys("kevent", err)
	}
	w.r, w.w = r, wr
	return nil
}

func (w *internalWake) is(e *unix.Kevent_t) bool {
	if e.Filter != unix.EVFILT_READ || int(e.Ident) != w.r {
		return false
	}
	drainPipe(w.r)
	return true
}

func (w *internalWake) wake(*selector) error { return pipeWrite(w.r, w.w) }

func (w *internalWake) close() {
	unix.Close(w.r)
	unix.Close(w.w)
}

// userToken: with no EVFILT_USER, every Waker is a registered pipe and its
// events are read events, so no other filter carries a token.
func userToken(*selectorShared, *unix.Kevent_t) (Token, bool) { return 0, false }

// wakerSys is a user Waker: a pipe whose read end is registered readable.
type wakerSys struct {
	reg  *Registry
	r, w int
}

func (w *wakerSys) open(r *Registry, t Token) error {
	rfd, wfd, err := openPipe()
	if err != nil {
		return err
	}
	if err := r.sel.register(rfd, t, Readable); err != nil {
		unix.Close(rfd)
		unix.Close(wfd)
		return err
	}
	w.reg, w.r, w.w = r, rfd, wfd
	return nil
}

func (w *wakerSys) wake() error { return pipeWrite(w.r, w.w) }

func (w *wakerSys) close() {
	if w.reg.acquire("close waker") == nil {
		_ = w.reg.sel.deregister(w.r)
		w.reg.release()
	}
	unix.Close(w.r)
	unix.Close(w.w)
}

// openPipe returns a non-blocking, close-on-exec pipe.
func openPipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, wrapSys("pipe2", err)
	}
	return p[0], p[1], nil
}

// drainPipe empties the read end of a non-blocking pipe.
func drainPipe(fd int) {
	var b [64]byte
	for {
		n, err := unix.Read(fd, b[:])
		if n <= 0 || err != nil {
			return
		}
	}
}

// pipeByte is what a wake-up writes; a package variable, only read, so the
// write's buffer never escapes to the heap.
var pipeByte = [1]byte{1}

// pipeWrite writes one byte to a non-blocking pipe. A full pipe is drained
// through rfd and written again: a full pipe means a wake-up is pending, but
// an edge-triggered filter reports only new data, so the write must land.
func pipeWrite(rfd, wfd int) error {
	for {
		_, err := unix.Write(wfd, pipeByte[:])
		if !errors.Is(err, unix.EAGAIN) {
			return err
		}
		drainPipe(rfd)
	}
}
