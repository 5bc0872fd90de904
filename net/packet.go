package net

import (
	"errors"
	stdnet "net"
	"net/netip"
	"os"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// PacketConn is a datagram socket (UDP or Unix datagram) registered with a
// runtime's I/O driver. Tasks use PollRecvFrom and PollSendTo (or their
// futures); ordinary goroutines use it as a net.PacketConn, whose ReadFrom
// and WriteTo block on metal's poller. Deadlines hold for both, as for
// Conn.
type PacketConn struct {
	endpoint
	unix bool
}

// Datagram is one received datagram: N bytes from Addr (UDP) or from the
// socket bound to Path (Unix datagrams; "" for an unbound sender).
type Datagram struct {
	N    int
	Addr netip.AddrPort
	Path string
	Err  error
}

// ListenPacket opens a datagram socket bound to address on the default
// runtime. network is "udp", "udp4", "udp6" or "unixgram".
func ListenPacket(network, address string) (stdnet.PacketConn, error) {
	c, err := ListenConfig{}.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListenPacketRuntime is ListenPacket on rt, returning the *PacketConn.
func ListenPacketRuntime(rt *runtime.Runtime, network, address string) (*PacketConn, error) {
	return ListenConfig{Runtime: rt}.ListenPacket(network, address)
}

// ListenPacket opens a datagram socket with the options of c (ReusePort
// applies to UDP), on c.Runtime or the default runtime.
func (c ListenConfig) ListenPacket(network, address string) (*PacketConn, error) {
	rt, err := c.runtime()
	if err != nil {
		return nil, listenErr(network, address, err)
	}
	s, local, err := listenPacket(network, address, c)
	if err != nil {
		return nil, listenErr(network, address, err)
	}
	io, err := rt.Register(s, poller.Readable|poller.Writable)
	if err != nil {
		s.close()
		return nil, listenErr(network, address, err)
	}
	return &PacketConn{
		endpoint: endpoint{rt: rt, s: s, io: io, network: network, local: local},
		unix:     network == "unixgram",
	}, nil
}

// PollRecvFrom receives one datagram into p (the rest of a longer one is
// lost), or returns false and the task is woken when one arrives.
func (c *PacketConn) PollRecvFrom(cx *task.Context, p []byte) (Datagram, bool) {
	if !cx.Proceed() {
		return Datagram{}, false
	}
	if c.rd.passed(c.rt) {
		return Datagram{Err: c.opErr("read", os.ErrDeadlineExceeded, nil)}, true
	}
	if d, ok := c.pollRecv(cx, p); ok {
		return d, true
	}
	if c.rd.pollTask(cx, c.rt) {
		return Datagram{Err: c.opErr("read", os.ErrDeadlineExceeded, nil)}, true
	}
	return Datagram{}, false
}

func (c *PacketConn) pollRecv(cx *task.Context, p []byte) (Datagram, bool) {
	for {
		r, ok := c.io.PollReady(cx, poller.Readable)
		if !ok {
			return Datagram{}, false
		}
		if r.IsClosed() {
			return Datagram{Err: c.opErr("read", c.closedCause(), nil)}, true
		}
		n, ap, path, err := recvPacket(c.s, c.unix, p)
		if err == poller.ErrWouldBlock {
			c.io.ClearReady(r)
			continue
		}
		return Datagram{N: n, Addr: ap, Path: path, Err: c.opErr("read", err, nil)}, true
	}
}

// PollSendTo sends p as one datagram to addr (UDP), or returns false and
// the task is woken when the socket can send.
func (c *PacketConn) PollSendTo(cx *task.Context, p []byte, addr netip.AddrPort) (task.Result[int], bool) {
	return c.pollSendOp(cx, p, addr, "")
}

// PollSendToPath sends p as one datagram to the Unix datagram socket bound
// to path.
func (c *PacketConn) PollSendToPath(cx *task.Context, p []byte, path string) (task.Result[int], bool) {
	return c.pollSendOp(cx, p, netip.AddrPort{}, path)
}

func (c *PacketConn) pollSendOp(cx *task.Context, p []byte, ap netip.AddrPort, path string) (task.Result[int], bool) {
	if !cx.Proceed() {
		return task.Result[int]{}, false
	}
	if c.wd.passed(c.rt) {
		return task.Result[int]{Err: c.opErr("write", os.ErrDeadlineExceeded, nil)}, true
	}
	if res, ok := c.pollSend(cx, p, ap, path); ok {
		return res, true
	}
	if c.wd.pollTask(cx, c.rt) {
		return task.Result[int]{Err: c.opErr("write", os.ErrDeadlineExceeded, nil)}, true
	}
	return task.Result[int]{}, false
}

func (c *PacketConn) pollSend(cx *task.Context, p []byte, ap netip.AddrPort, path string) (task.Result[int], bool) {
	for {
		r, ok := c.io.PollReady(cx, poller.Writable)
		if !ok {
			return task.Result[int]{}, false
		}
		if r.IsClosed() {
			return task.Result[int]{Err: c.opErr("write", c.closedCause(), nil)}, true
		}
		n, err := sendPacket(c.s, c.unix, p, ap, path)
		if err == poller.ErrWouldBlock {
			c.io.ClearReady(r)
			continue
		}
		return task.Result[int]{Value: n, Err: c.opErr("write", err, nil)}, true
	}
}

// RecvFromAsync returns a future of one datagram received into p.
func (c *PacketConn) RecvFromAsync(p []byte) RecvFromFuture { return RecvFromFuture{c: c, p: p} }

// RecvFromFuture is the future RecvFromAsync returns.
type RecvFromFuture struct {
	c *PacketConn
	p []byte
}

// Poll receives one datagram, as PollRecvFrom.
func (f *RecvFromFuture) Poll(cx *task.Context) (Datagram, bool) { return f.c.PollRecvFrom(cx, f.p) }

// SendToAsync returns a future that sends p as one datagram to addr.
func (c *PacketConn) SendToAsync(p []byte, addr netip.AddrPort) SendToFuture {
	return SendToFuture{c: c, p: p, addr: addr}
}

// SendToFuture is the future SendToAsync returns.
type SendToFuture struct {
	c    *PacketConn
	p    []byte
	addr netip.AddrPort
}

// Poll sends the datagram, as PollSendTo.
func (f *SendToFuture) Poll(cx *task.Context) (task.Result[int], bool) {
	return f.c.PollSendTo(cx, f.p, f.addr)
}

// ReadFrom receives one datagram, blocking the calling goroutine until one
// arrives, an error, or the read deadline. It implements net.PacketConn;
// the address is a *net.UDPAddr or a *net.UnixAddr.
func (c *PacketConn) ReadFrom(p []byte) (int, stdnet.Addr, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.rd.passedWall() {
			return 0, nil, c.opErr("read", os.ErrDeadlineExceeded, nil)
		}
		d, ok := c.pollRecv(c.rw.context(), p)
		if ok {
			if d.Err != nil {
				return d.N, nil, d.Err
			}
			if c.unix {
				return d.N, &stdnet.UnixAddr{Name: d.Path, Net: c.network}, nil
			}
			return d.N, stdnet.UDPAddrFromAddrPort(d.Addr), nil
		}
		c.rd.wait(c.rw.ch)
	}
}

// WriteTo sends p as one datagram to addr (a *net.UDPAddr for UDP, a
// *net.UnixAddr for Unix datagrams), blocking the calling goroutine while
// the socket cannot send, until the write deadline. It implements
// net.PacketConn.
func (c *PacketConn) WriteTo(p []byte, addr stdnet.Addr) (int, error) {
	var ap netip.AddrPort
	var path string
	switch a := addr.(type) {
	case *stdnet.UDPAddr:
		if c.unix {
			return 0, c.opErr("write", ErrInvalidAddr, addr)
		}
		ap = a.AddrPort()
		if ap.Addr().Is4In6() {
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	case *stdnet.UnixAddr:
		if !c.unix {
			return 0, c.opErr("write", ErrInvalidAddr, addr)
		}
		path = a.Name
	default:
		return 0, c.opErr("write", errors.Join(ErrInvalidAddr, errors.New("not a *net.UDPAddr or *net.UnixAddr")), addr)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		if c.wd.passedWall() {
			return 0, c.opErr("write", os.ErrDeadlineExceeded, addr)
		}
		res, ok := c.pollSend(c.ww.context(), p, ap, path)
		if ok {
			return res.Value, res.Err
		}
		c.wd.wait(c.ww.ch)
	}
}
