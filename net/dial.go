package net

import (
	"context"
	"errors"
	stdnet "net"
	"os"
	"sync"
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// defaultRuntime is the runtime Listen and Dial use: made on first use with
// the default options (GOMAXPROCS workers) and never shut down.
var defaultRuntime struct {
	once sync.Once
	rt   *runtime.Runtime
	err  error
}

// DefaultRuntime returns the runtime that Listen, Dial and a ListenConfig or
// Dialer without a Runtime use, making it on first call. It lives as long
// as the process.
func DefaultRuntime() (*runtime.Runtime, error) {
	defaultRuntime.once.Do(func() {
		defaultRuntime.rt, defaultRuntime.err = runtime.New()
	})
	return defaultRuntime.rt, defaultRuntime.err
}

// Dialer holds the options for connecting. The zero value dials on the
// default runtime with no timeout.
type Dialer struct {
	// Runtime is the runtime the connection is registered with; nil means
	// DefaultRuntime.
	Runtime *runtime.Runtime
	// Timeout bounds the time a dial may take (for DialAsync, counted from
	// its first poll); zero means no limit beyond the system's.
	Timeout time.Duration
}

// Dial connects to address on the named network ("tcp", "tcp4", "tcp6" or
// "unix") on the default runtime, and returns the connection as a
// net.Conn (a *Conn).
func Dial(network, address string) (stdnet.Conn, error) {
	c, err := (&Dialer{}).DialContext(context.Background(), network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialRuntime is Dial on rt, returning the *Conn.
func DialRuntime(rt *runtime.Runtime, network, address string) (*Conn, error) {
	return (&Dialer{Runtime: rt}).DialContext(context.Background(), network, address)
}

// DialContext connects, blocking the calling goroutine until the
// connection is made, fails, d.Timeout passes or ctx ends. The wait is on
// metal's poller.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (*Conn, error) {
	rt, err := d.runtime()
	if err != nil {
		return nil, dialErr(network, address, err)
	}
	c, err := startDial(rt, network, address)
	if err != nil {
		return nil, err
	}
	var limit <-chan time.Time
	if d.Timeout > 0 {
		t := time.NewTimer(d.Timeout)
		defer t.Stop()
		limit = t.C
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		res, ok := c.pollConnected(c.ww.context())
		if ok {
			if res.Err != nil {
				c.Close()
				return nil, res.Err
			}
			return c, nil
		}
		select {
		case <-c.ww.ch:
		case <-ctx.Done():
			c.Close()
			return nil, dialErr(network, address, ctx.Err())
		case <-limit:
			c.Close()
			return nil, dialErr(network, address, os.ErrDeadlineExceeded)
		}
	}
}

func (d *Dialer) runtime() (*runtime.Runtime, error) {
	if d.Runtime != nil {
		return d.Runtime, nil
	}
	return DefaultRuntime()
}

// startDial opens the socket and starts connecting; the Conn is connected
// once pollConnected says so.
func startDial(rt *runtime.Runtime, network, address string) (*Conn, error) {
	s, err := connectStream(network, address)
	if err != nil {
		return nil, dialErr(network, address, err)
	}
	io, err := rt.Register(s, poller.Readable|poller.Writable)
	if err != nil {
		s.close()
		return nil, dialErr(network, address, err)
	}
	c := &Conn{endpoint: endpoint{rt: rt, s: s, io: io, network: network}, remote: addrOf(network, address)}
	if !isUnixNetwork(network) {
		_ = s.setNoDelay(true)
	}
	return c, nil
}

// pollConnected waits for the connect under way to finish: the socket
// turns writable (or reports an error or a hang-up) and SO_ERROR tells how
// it went.
func (c *Conn) pollConnected(cx *task.Context) (task.Result[struct{}], bool) {
	r, ok := c.io.PollReady(cx, poller.Writable)
	if !ok {
		return task.Result[struct{}]{}, false
	}
	if r.IsClosed() {
		return task.Result[struct{}]{Err: c.closedErr("dial")}, true
	}
	if err := c.s.takeError(); err != nil {
		return task.Result[struct{}]{Err: dialErr(c.network, c.remote.String(), err)}, true
	}
	local, remote := streamAddrs(c.s, isUnixNetwork(c.network))
	if ra, ok := remote.(*stdnet.TCPAddr); ok && ra.Port == 0 {
		// Writable without an error but without a peer: the connection
		// was refused and SO_ERROR was already taken.
		return task.Result[struct{}]{Err: dialErr(c.network, c.remote.String(), errNotConnected)}, true
	}
	c.local, c.remote = local, remote
	return task.Result[struct{}]{}, true
}

// DialAsync returns a future of a connection to address, for tasks: it
// starts connecting on its first poll and completes when the connection
// is made or has failed, or when d.Timeout has passed. Names are resolved
// with Go's resolver on the polling worker; give an IP address (or resolve
// in a blocking task first) where a lookup may be slow.
func (d *Dialer) DialAsync(network, address string) *DialFuture {
	return &DialFuture{d: *d, network: network, address: address}
}

// DialFuture is the future DialAsync returns. Dropping it before it
// completes closes the connection under way.
type DialFuture struct {
	d                Dialer
	network, address string
	c                *Conn
	limit            runtime.SleepFuture
	done             bool
}

// Poll connects.
func (f *DialFuture) Poll(cx *task.Context) (task.Result[*Conn], bool) {
	if f.done {
		return task.Result[*Conn]{Err: dialErr(f.network, f.address, errPolledAfterDone)}, true
	}
	if f.c == nil {
		rt, err := f.d.runtime()
		if err == nil {
			f.c, err = startDial(rt, f.network, f.address)
		}
		if err != nil {
			f.done = true
			return task.Result[*Conn]{Err: err}, true
		}
		if f.d.Timeout > 0 {
			f.limit.Reset(f.d.Timeout)
		}
	}
	res, ok := f.c.pollConnected(cx)
	if !ok {
		if f.d.Timeout > 0 {
			if _, out := f.limit.Poll(cx); out {
				f.fail()
				return task.Result[*Conn]{Err: dialErr(f.network, f.address, os.ErrDeadlineExceeded)}, true
			}
		}
		return task.Result[*Conn]{}, false
	}
	f.limit.Drop()
	f.done = true
	if res.Err != nil {
		f.c.Close()
		return task.Result[*Conn]{Err: res.Err}, true
	}
	c := f.c
	f.c = nil
	return task.Result[*Conn]{Value: c}, true
}

// Drop closes a connection still being made.
func (f *DialFuture) Drop() { f.fail() }

func (f *DialFuture) fail() {
	f.limit.Drop()
	f.done = true
	if f.c != nil {
		f.c.Close()
		f.c = nil
	}
}

// NewConn takes over the socket of a Go *net.TCPConn or *net.UnixConn
// (duplicating the descriptor and closing c) and registers it with rt.
func NewConn(rt *runtime.Runtime, c stdnet.Conn) (*Conn, error) {
	var network string
	var sc stdConn
	switch c := c.(type) {
	case *stdnet.TCPConn:
		if c == nil {
			return nil, errNilStd
		}
		network, sc = "tcp", c
	case *stdnet.UnixConn:
		if c == nil {
			return nil, errNilStd
		}
		network, sc = "unix", c
	default:
		return nil, errors.New("metal/net: NewConn: not a *net.TCPConn or *net.UnixConn")
	}
	s, err := adopt(sc, network == "unix")
	if err != nil {
		return nil, err
	}
	return newConn(rt, s, network, nil, nil)
}

var (
	errNotConnected    = errors.New("connection refused")
	errPolledAfterDone = errors.New("metal/net: DialFuture polled after it completed")
)

func dialErr(network, address string, err error) error {
	var oe *stdnet.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &stdnet.OpError{Op: "dial", Net: network, Addr: addrOf(network, address), Err: err}
}

// addrOf names an address as given, for errors and for a Conn still
// connecting.
func addrOf(network, address string) stdnet.Addr {
	if isUnixNetwork(network) {
		return &stdnet.UnixAddr{Name: address, Net: network}
	}
	return givenAddr{network, address}
}

// givenAddr is an address as the caller wrote it.
type givenAddr struct{ network, address string }

func (a givenAddr) Network() string { return a.network }
func (a givenAddr) String() string  { return a.address }
