package net

import (
	"errors"
	stdnet "net"
	"sync"
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// Listener is a stream listener (TCP or Unix) registered with a runtime's
// I/O driver. Tasks accept with PollAccept or the future AcceptAsync
// returns; ordinary goroutines use it as a net.Listener, whose Accept
// blocks on metal's poller. Every connection it accepts is a *Conn on the
// same runtime.
//
// Listening sockets have SO_REUSEADDR set, and SO_REUSEPORT when the
// ListenConfig asks for it.
//
// Running out of descriptors: when accept fails with EMFILE, ENFILE,
// ENOBUFS or ENOMEM, the Listener does not return the error. It pauses
// accepting, as Go's net/http Server does: the first retry comes 5 ms
// later, each further failure doubles the pause up to 1 s, and a
// successful accept resets it. Meanwhile an accepting task is pending (its
// pause is a timer on the runtime's wheel) and a goroutine in Accept stays
// blocked; connections already accepted carry on, and connections that
// arrive during the pause wait in the backlog for the retry. Close ends a
// pause at once with net.ErrClosed, and a runtime shutdown with
// runtime.ErrShutdown.
//
// One task at a time may accept from a Listener, and not while goroutines
// do (they take turns among themselves): the accepters share the
// listener's one wake-up and its pause.
type Listener struct {
	rt      *runtime.Runtime
	s       *sock
	io      *runtime.IO
	network string
	addr    stdnet.Addr

	amu sync.Mutex // goroutines accepting take turns
	aw  goWaiter

	// bo is the backoff after accept ran out of resources, shared by
	// every accepter (see accept_backoff.go). pause and pausing are the
	// accepting task's own: its pause is under way on the timer wheel.
	// pauseTimer is the goroutine side's, under amu.
	bo         acceptBackoff
	pause      runtime.SleepFuture
	pausing    bool
	pauseTimer *time.Timer

	closed atomic.Bool
}

// Listen announces on the local network address, on the default runtime
// (see DefaultRuntime), and returns a net.Listener whose connections are
// metal Conns. network is "tcp", "tcp4", "tcp6" or "unix"; address is as
// for Go's net.Listen.
func Listen(network, address string) (stdnet.Listener, error) {
	l, err := ListenConfig{}.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListenRuntime is Listen on rt, returning the *Listener.
func ListenRuntime(rt *runtime.Runtime, network, address string) (*Listener, error) {
	return ListenConfig{Runtime: rt}.Listen(network, address)
}

// Listen announces on the local network address with the options of c, on
// c.Runtime or, when it is nil, the default runtime.
func (c ListenConfig) Listen(network, address string) (*Listener, error) {
	rt, err := c.runtime()
	if err != nil {
		return nil, listenErr(network, address, err)
	}
	s, addr, err := listenStream(network, address, c)
	if err != nil {
		return nil, listenErr(network, address, err)
	}
	io, err := rt.Register(s, poller.Readable)
	if err != nil {
		s.close()
		return nil, listenErr(network, address, err)
	}
	return &Listener{rt: rt, s: s, io: io, network: network, addr: addr}, nil
}

func (c ListenConfig) runtime() (*runtime.Runtime, error) {
	if c.Runtime != nil {
		return c.Runtime, nil
	}
	return DefaultRuntime()
}

func listenErr(network, address string, err error) error {
	var oe *stdnet.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &stdnet.OpError{Op: "listen", Net: network, Addr: addrOf(network, address), Err: err}
}

// NewListener takes over the socket of a Go *net.TCPListener or
// *net.UnixListener (duplicating the descriptor and closing l) and
// registers it with rt.
func NewListener(rt *runtime.Runtime, l stdnet.Listener) (*Listener, error) {
	var network string
	var sc stdConn
	switch l := l.(type) {
	case *stdnet.TCPListener:
		if l == nil {
			return nil, errNilStd
		}
		network, sc = "tcp", l
	case *stdnet.UnixListener:
		if l == nil {
			return nil, errNilStd
		}
		// Go's listener would remove the socket file when closed below.
		l.SetUnlinkOnClose(false)
		network, sc = "unix", l
	default:
		return nil, errors.New("metal/net: NewListener: not a *net.TCPListener or *net.UnixListener")
	}
	addr := l.Addr()
	s, err := adopt(sc, network == "unix")
	if err != nil {
		return nil, err
	}
	io, err := rt.Register(s, poller.Readable)
	if err != nil {
		s.close()
		return nil, err
	}
	return &Listener{rt: rt, s: s, io: io, network: network, addr: addr}, nil
}

// PollAccept accepts one connection, or, when none is pending, returns
// false and the task is woken when one arrives. It spends one unit of the
// task's budget. When accept runs out of descriptors or memory it returns
// false too, and tries again after a pause (see Listener): those errors
// are not returned. Other errors are, as they are.
func (l *Listener) PollAccept(cx *task.Context) (task.Result[*Conn], bool) {
	if !cx.Proceed() {
		return task.Result[*Conn]{}, false
	}
	for {
		if l.pausing && !l.pollPause(cx) {
			return task.Result[*Conn]{}, false
		}
		res, ok, retryAt := l.acceptNow(cx)
		if retryAt.IsZero() {
			return res, ok
		}
		l.pause.ResetUntil(retryAt)
		l.pausing = true
	}
}

// acceptNow accepts one connection, or returns false with cx's waker left
// for the next connection; or, when accept ran out of resources, returns
// false and the time, on the runtime's clock, to call again at, having
// cleared the listener's readiness (see accept_backoff.go). The pause
// counts from the failure, not from when the caller starts waiting.
func (l *Listener) acceptNow(cx *task.Context) (res task.Result[*Conn], ok bool, retryAt time.Time) {
	for {
		r, ready := l.io.PollReady(cx, poller.Readable)
		if ready && r.IsClosed() {
			return task.Result[*Conn]{Err: l.closedErr()}, true, time.Time{}
		}
		if !ready && !l.bo.unsure() {
			return task.Result[*Conn]{}, false, time.Time{}
		}
		s, local, remote, err := acceptStream(l.s, isUnixNetwork(l.network))
		if err == poller.ErrWouldBlock {
			l.bo.drained()
			if !ready {
				return task.Result[*Conn]{}, false, time.Time{} // cx's waker is in place
			}
			l.io.ClearReady(r)
			continue
		}
		if err != nil {
			if errors.Is(err, errConnAborted) {
				continue // reset while it waited: take the next one
			}
			if outOfResources(err) {
				// The time first: the failure shows in bo as soon as
				// failed returns, and the pause starts before that.
				now := l.rt.Now()
				pause := l.bo.failed()
				if ready {
					l.io.ClearReady(r)
				}
				return task.Result[*Conn]{}, false, now.Add(pause)
			}
			return task.Result[*Conn]{Err: l.opErr(err)}, true, time.Time{}
		}
		l.bo.accepted()
		c, err := newConn(l.rt, s, l.network, local, remote)
		if err != nil {
			return task.Result[*Conn]{Err: l.opErr(err)}, true, time.Time{}
		}
		return task.Result[*Conn]{Value: c}, true, time.Time{}
	}
}

// AcceptAsync returns a future of the next connection (see PollAccept).
func (l *Listener) AcceptAsync() AcceptFuture { return AcceptFuture{l: l} }

// AcceptFuture is the future AcceptAsync returns.
type AcceptFuture struct{ l *Listener }

// Poll accepts one connection, as PollAccept.
func (f *AcceptFuture) Poll(cx *task.Context) (task.Result[*Conn], bool) {
	return f.l.PollAccept(cx)
}

// Accept blocks the calling goroutine until a connection arrives and
// returns it (a *Conn). It implements net.Listener. Out of descriptors, it
// pauses and tries again, as PollAccept does, instead of returning EMFILE.
func (l *Listener) Accept() (stdnet.Conn, error) {
	c, err := l.AcceptConn()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept returning the *Conn.
func (l *Listener) AcceptConn() (*Conn, error) {
	l.amu.Lock()
	defer l.amu.Unlock()
	for {
		res, ok, retryAt := l.acceptNow(l.aw.context())
		if ok {
			return res.Value, res.Err
		}
		if !retryAt.IsZero() {
			// The runtime's clock for how long is left, the wall clock
			// to wait it out.
			l.waitPause(retryAt.Sub(l.rt.Now()))
			continue
		}
		<-l.aw.ch
	}
}

// Close stops listening. Accepts waiting, in tasks or goroutines, end with
// an error matching net.ErrClosed. A Unix listener removes its socket file.
func (l *Listener) Close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return l.opErr(stdnet.ErrClosed)
	}
	_ = l.io.Close()
	err := l.s.close()
	if ua, ok := l.addr.(*stdnet.UnixAddr); ok {
		removeUnixSocket(ua.Name)
	}
	return l.opErr(err)
}

// Addr returns the address the listener serves on: a *net.TCPAddr (with
// the port the kernel chose for port 0) or a *net.UnixAddr.
func (l *Listener) Addr() stdnet.Addr { return l.addr }

// Runtime returns the runtime the listener is registered with.
func (l *Listener) Runtime() *runtime.Runtime { return l.rt }

func (l *Listener) closedErr() error {
	if l.closed.Load() {
		return l.opErr(stdnet.ErrClosed)
	}
	return l.opErr(runtime.ErrShutdown)
}

func (l *Listener) opErr(err error) error {
	if err == nil {
		return nil
	}
	var oe *stdnet.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &stdnet.OpError{Op: "accept", Net: l.network, Addr: l.addr, Err: err}
}
