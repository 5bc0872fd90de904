package net

import (
	"errors"
	"io"
	stdnet "net"
	"sync"
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"go.uber.org/atomic"
)

// endpoint is what a Conn and a PacketConn share: a socket registered with
// a runtime, its two deadlines, the turns its goroutine readers and
// writers take, and closing.
type endpoint struct {
	rt      *runtime.Runtime
	s       *sock
	io      *runtime.IO
	network string
	local   stdnet.Addr

	rd, wd deadline

	// rmu and wmu let one goroutine at a time read and write; rw and ww
	// are their waiters.
	rmu, wmu sync.Mutex
	rw, ww   goWaiter

	closed atomic.Bool
}

// Runtime returns the runtime whose I/O driver the socket is registered
// with.
func (e *endpoint) Runtime() *runtime.Runtime { return e.rt }

// LocalAddr returns the local address.
func (e *endpoint) LocalAddr() stdnet.Addr { return e.local }

// Close closes the socket. Operations waiting on it, in tasks or
// goroutines, end with an error matching net.ErrClosed. Closing twice
// returns such an error too.
func (e *endpoint) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return e.opErr("close", stdnet.ErrClosed, nil)
	}
	_ = e.io.Close()
	return e.opErr("close", e.s.close(), nil)
}

// SetDeadline sets the read and write deadlines; the zero time clears them.
func (e *endpoint) SetDeadline(t time.Time) error {
	if err := e.SetReadDeadline(t); err != nil {
		return err
	}
	return e.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for reads, those under way included;
// the zero time clears it.
func (e *endpoint) SetReadDeadline(t time.Time) error {
	if e.closed.Load() {
		return e.opErr("set deadline", stdnet.ErrClosed, nil)
	}
	e.rd.set(t)
	e.io.Wake(poller.Readable)
	return nil
}

// SetWriteDeadline sets the deadline for writes, those under way included;
// the zero time clears it.
func (e *endpoint) SetWriteDeadline(t time.Time) error {
	if e.closed.Load() {
		return e.opErr("set deadline", stdnet.ErrClosed, nil)
	}
	e.wd.set(t)
	e.io.Wake(poller.Writable)
	return nil
}

// unusable says why an operation that moves no bytes fails: the endpoint
// is closed or its runtime shut down; nil when it is usable.
func (e *endpoint) unusable() error {
	if e.closed.Load() {
		return stdnet.ErrClosed
	}
	select {
	case <-e.rt.Done():
		return runtime.ErrShutdown
	default:
		return nil
	}
}

// closedCause says why the socket reports closed: closed by its user, or
// its runtime shut down.
func (e *endpoint) closedCause() error {
	if e.closed.Load() {
		return stdnet.ErrClosed
	}
	return runtime.ErrShutdown
}

// opErr wraps err in a *net.OpError naming op and the ends, as Go's net
// does; nil, io.EOF and errors that are already OpErrors are returned as
// they are.
func (e *endpoint) opErr(op string, err error, remote stdnet.Addr) error {
	if err == nil || err == io.EOF {
		return err
	}
	var oe *stdnet.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &stdnet.OpError{Op: op, Net: e.network, Source: e.local, Addr: remote, Err: err}
}
