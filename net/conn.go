package net

import (
	"io"
	stdnet "net"
	"os"
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// Conn is a stream connection (TCP or Unix) registered with a runtime's I/O
// driver. It serves two kinds of caller:
//
//   - Tasks use PollRead, PollWrite and PollWritev, or the futures
//     ReadAsync, ReadFullAsync, WriteAsync and WritevAsync return. An
//     operation that would block returns pending and the I/O driver wakes
//     the task when the socket is ready; nothing spins and no goroutine
//     waits.
//   - Ordinary goroutines use it as a net.Conn: Read and Write block, but
//     the wait is on metal's poller (a goroutine blocked in Read sleeps on
//     a channel that the I/O driver's wake fills), not on Go's.
//
// Never call Read or Write from inside a task's Poll: they would block the
// worker.
//
// Deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline and
// SetIdleTimeout) hold for both: an operation past its deadline fails with
// an error matching os.ErrDeadlineExceeded whose Timeout method reports
// true. A task waits for a deadline on its worker's timer wheel, a
// goroutine on a Go timer.
//
// Back-pressure: a Conn has no buffer of its own. A write completes when
// its bytes are in the kernel's send buffer, so a peer that reads slowly
// slows its writer down instead of making the process hold its bytes.
//
// Conn is safe for concurrent use as net.Conn promises: goroutines reading
// take turns, as do goroutines writing. At most one task polls each
// direction at a time (a second would take the first one's wake-up).
type Conn struct {
	endpoint
	remote stdnet.Addr
	// idle is the idle timeout in nanoseconds (0: none). Every read and
	// write that moves bytes pushes both deadlines to now+idle.
	idle atomic.Int64
}

// newConn registers the connected socket s, whose ends are local and
// remote (nil: ask the socket), with rt. On error s is closed.
func newConn(rt *runtime.Runtime, s *sock, network string, local, remote stdnet.Addr) (*Conn, error) {
	io, err := rt.Register(s, poller.Readable|poller.Writable)
	if err != nil {
		s.close()
		return nil, err
	}
	c := &Conn{endpoint: endpoint{rt: rt, s: s, io: io, network: network}}
	c.local, c.remote = local, remote
	if local == nil || remote == nil {
		c.local, c.remote = streamAddrs(s, isUnixNetwork(network))
	}
	if !isUnixNetwork(network) {
		// As Go's net: no Nagle delay for small writes.
		_ = s.setNoDelay(true)
	}
	return c, nil
}

// PollRead reads into p: it returns the number of bytes read (at least one
// when p is not empty), or io.EOF once the peer has closed its side, or an
// error; or, when nothing is there to read, it returns false and the task
// is woken when there is. It spends one unit of the task's budget.
func (c *Conn) PollRead(cx *task.Context, p []byte) (task.Result[int], bool) {
	if !cx.Proceed() {
		return task.Result[int]{}, false
	}
	if c.rd.passed(c.rt) {
		return task.Result[int]{Err: c.timeout("read")}, true
	}
	res, ok := c.pollRead(cx, p)
	if ok {
		if res.Value > 0 {
			c.touch()
		}
		return res, true
	}
	if c.rd.pollTask(cx, c.rt) {
		return task.Result[int]{Err: c.timeout("read")}, true
	}
	return res, false
}

// pollRead reads, or registers cx's waker and returns false.
func (c *Conn) pollRead(cx *task.Context, p []byte) (task.Result[int], bool) {
	for {
		r, ok := c.io.PollReady(cx, poller.Readable)
		if !ok {
			return task.Result[int]{}, false
		}
		if r.IsClosed() {
			return task.Result[int]{Err: c.closedErr("read")}, true
		}
		n, err := c.s.read(p)
		if err == poller.ErrWouldBlock {
			c.io.ClearReady(r)
			continue
		}
		if err == nil && n < len(p) {
			// A short read took everything the socket held: the next read
			// would only say would-block. Clear now and save that system
			// call (tokio does the same). Bytes arriving after this read
			// come with an edge of their own, newer than r, which the
			// clear leaves alone.
			c.io.ClearReady(r)
		}
		return task.Result[int]{Value: n, Err: c.opErr("read", err)}, true
	}
}

// PollWrite writes p, or as much of it as the kernel takes now (at least
// one byte when p is not empty); or, when the send buffer is full, it
// returns false and the task is woken when there is room. It spends one
// unit of the task's budget. WriteAsync writes all of p.
func (c *Conn) PollWrite(cx *task.Context, p []byte) (task.Result[int], bool) {
	return c.pollWriteOp(cx, p, nil)
}

// PollWritev is PollWrite for several buffers at once (writev(2)): it
// returns the number of bytes taken from the front of bufs.
func (c *Conn) PollWritev(cx *task.Context, bufs [][]byte) (task.Result[int], bool) {
	return c.pollWriteOp(cx, nil, bufs)
}

func (c *Conn) pollWriteOp(cx *task.Context, p []byte, bufs [][]byte) (task.Result[int], bool) {
	if !cx.Proceed() {
		return task.Result[int]{}, false
	}
	if c.wd.passed(c.rt) {
		return task.Result[int]{Err: c.timeout("write")}, true
	}
	res, ok := c.pollWrite(cx, p, bufs)
	if ok {
		if res.Value > 0 {
			c.touch()
		}
		return res, true
	}
	if c.wd.pollTask(cx, c.rt) {
		return task.Result[int]{Err: c.timeout("write")}, true
	}
	return res, false
}

// pollWrite writes p (or bufs, when p is nil and bufs is not), or
// registers cx's waker and returns false.
func (c *Conn) pollWrite(cx *task.Context, p []byte, bufs [][]byte) (task.Result[int], bool) {
	want := len(p)
	if bufs != nil {
		// The kernel takes at most IOV_MAX (1024) buffers a call; the
		// caller writes the rest next time, as after any short write.
		bufs = bufs[:min(len(bufs), maxIovecs)]
		want = bufsLen(bufs)
	}
	if want == 0 {
		return task.Result[int]{Err: c.opErr("write", c.unusable())}, true
	}
	for {
		r, ok := c.io.PollReady(cx, poller.Writable)
		if !ok {
			return task.Result[int]{}, false
		}
		if r.IsClosed() {
			return task.Result[int]{Err: c.closedErr("write")}, true
		}
		var n int
		var err error
		if bufs != nil {
			n, err = c.s.writev(bufs)
		} else {
			n, err = c.s.write(p)
		}
		if err == poller.ErrWouldBlock {
			c.io.ClearReady(r)
			continue
		}
		if err == nil && n < want {
			// The send buffer filled: the next write would block, so wait
			// for the next edge now rather than after one more call.
			c.io.ClearReady(r)
		}
		return task.Result[int]{Value: n, Err: c.opErr("write", err)}, true
	}
}

// touch pushes both deadlines forward by the idle timeout, if one is set.
func (c *Conn) touch() {
	idle := c.idle.Load()
	if idle == 0 {
		return
	}
	t := c.rt.Now().Add(time.Duration(idle))
	c.rd.set(t)
	c.wd.set(t)
}

// Read reads into p, blocking the calling goroutine until at least one
// byte, the end of the stream (io.EOF), an error or the read deadline.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) == 0 {
		// As Go's net: nothing to read into, so no waiting for bytes.
		return 0, c.opErr("read", c.unusable())
	}
	for {
		if c.rd.passedWall() {
			return 0, c.timeout("read")
		}
		res, ok := c.pollRead(c.rw.context(), p)
		if ok {
			if res.Value > 0 {
				c.touch()
			}
			return res.Value, res.Err
		}
		c.rd.wait(c.rw.ch)
	}
}

// Write writes all of p, blocking the calling goroutine until the kernel
// has taken it, an error, or the write deadline. It returns how much was
// written.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for {
		if c.wd.passedWall() {
			return written, c.timeout("write")
		}
		res, ok := c.pollWrite(c.ww.context(), p[written:], nil)
		if !ok {
			c.wd.wait(c.ww.ch)
			continue
		}
		written += res.Value
		if res.Value > 0 {
			c.touch()
		}
		if res.Err != nil || written == len(p) {
			return written, res.Err
		}
	}
}

// CloseWrite shuts down the writing side: the peer reads end of stream,
// and this side can still read.
func (c *Conn) CloseWrite() error {
	return c.opErr("shutdown", c.s.shutdown(ShutdownWrite))
}

// CloseRead shuts down the reading side.
func (c *Conn) CloseRead() error {
	return c.opErr("shutdown", c.s.shutdown(ShutdownRead))
}

// RemoteAddr returns the peer's address: a *net.TCPAddr or *net.UnixAddr.
func (c *Conn) RemoteAddr() stdnet.Addr { return c.remote }

// opErr wraps err in a *net.OpError naming op and both ends, as Go's net
// does; nil and io.EOF are returned as they are.
func (c *Conn) opErr(op string, err error) error { return c.endpoint.opErr(op, err, c.remote) }

// closedErr is the error of an operation on a connection that was closed
// or whose runtime shut down.
func (c *Conn) closedErr(op string) error { return c.opErr(op, c.closedCause()) }

// timeout is the error of an operation past its deadline.
func (c *Conn) timeout(op string) error { return c.opErr(op, os.ErrDeadlineExceeded) }

// SetIdleTimeout makes reads and writes fail with os.ErrDeadlineExceeded
// once d passes without either moving a byte. It works by moving both
// deadlines to now+d at once and after every read or write that moves
// bytes, so it replaces deadlines set before. Zero turns it off (and
// leaves the deadlines where they are).
func (c *Conn) SetIdleTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.idle.Store(int64(d))
	if d > 0 {
		c.touch()
		c.io.Wake(poller.Readable | poller.Writable)
	}
}

// SetNoDelay turns Nagle's algorithm off (on is true, the default for
// connections metal makes) or on. TCP only.
func (c *Conn) SetNoDelay(on bool) error {
	return c.opErr("set option", c.s.setNoDelay(on))
}

// ReadAsync returns a future of one read into p (see PollRead).
func (c *Conn) ReadAsync(p []byte) ReadFuture { return ReadFuture{c: c, p: p} }

// ReadFuture is the future ReadAsync returns. Keep it in your future's
// state and poll it through a pointer.
type ReadFuture struct {
	c *Conn
	p []byte
}

// Poll reads once, as PollRead.
func (f *ReadFuture) Poll(cx *task.Context) (task.Result[int], bool) {
	return f.c.PollRead(cx, f.p)
}

// ReadFullAsync returns a future that fills p, as io.ReadFull: the end of
// the stream after some bytes but before len(p) is io.ErrUnexpectedEOF,
// before any byte io.EOF.
func (c *Conn) ReadFullAsync(p []byte) ReadFullFuture { return ReadFullFuture{c: c, p: p} }

// ReadFullFuture is the future ReadFullAsync returns.
type ReadFullFuture struct {
	c *Conn
	p []byte
	n int
}

// Poll reads until p is full.
func (f *ReadFullFuture) Poll(cx *task.Context) (task.Result[int], bool) {
	for f.n < len(f.p) {
		res, ok := f.c.PollRead(cx, f.p[f.n:])
		if !ok {
			return task.Result[int]{}, false
		}
		f.n += res.Value
		if res.Err != nil {
			if res.Err == io.EOF && f.n > 0 {
				res.Err = io.ErrUnexpectedEOF
			}
			return task.Result[int]{Value: f.n, Err: res.Err}, true
		}
	}
	return task.Result[int]{Value: f.n}, true
}

// WriteAsync returns a future that writes all of p: it completes when the
// kernel has taken the last byte, or with the error that stopped it and the
// count written until then.
func (c *Conn) WriteAsync(p []byte) WriteFuture { return WriteFuture{c: c, p: p} }

// WriteFuture is the future WriteAsync returns.
type WriteFuture struct {
	c *Conn
	p []byte
	n int
}

// Poll writes until p is all written.
func (f *WriteFuture) Poll(cx *task.Context) (task.Result[int], bool) {
	for {
		res, ok := f.c.PollWrite(cx, f.p[f.n:])
		if !ok {
			return task.Result[int]{}, false
		}
		f.n += res.Value
		if res.Err != nil || f.n == len(f.p) {
			return task.Result[int]{Value: f.n, Err: res.Err}, true
		}
	}
}

// WritevAsync returns a future that writes all of bufs with writev(2). It
// consumes bufs as it goes: written buffers are sliced off the front.
func (c *Conn) WritevAsync(bufs [][]byte) WritevFuture { return WritevFuture{c: c, bufs: bufs} }

// WritevFuture is the future WritevAsync returns.
type WritevFuture struct {
	c    *Conn
	bufs [][]byte
	n    int
}

// Poll writes until every buffer is written.
func (f *WritevFuture) Poll(cx *task.Context) (task.Result[int], bool) {
	for {
		f.bufs = consume(f.bufs, 0)
		if len(f.bufs) == 0 {
			return task.Result[int]{Value: f.n}, true
		}
		res, ok := f.c.PollWritev(cx, f.bufs)
		if !ok {
			return task.Result[int]{}, false
		}
		f.n += res.Value
		f.bufs = consume(f.bufs, res.Value)
		if res.Err != nil {
			return task.Result[int]{Value: f.n, Err: res.Err}, true
		}
	}
}

// consume drops n bytes from the front of bufs, and empty buffers.
func consume(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 {
		if l := len(bufs[0]); n >= l {
			n -= l
			bufs[0] = nil
			bufs = bufs[1:]
			continue
		}
		bufs[0] = bufs[0][n:]
		break
	}
	return bufs
}

// CopyAsync returns a future that copies from src to dst until src ends
// (io.EOF, which is not an error here) or either fails, through a buffer
// of 32 KiB; its value is the number of bytes copied. It does not close
// or shut down either connection.
func CopyAsync(dst, src *Conn) *CopyFuture {
	return &CopyFuture{dst: dst, src: src}
}

// CopyBufferAsync is CopyAsync through buf, as io.CopyBuffer: buf is the
// copy's only buffer (nil or empty: one of 32 KiB is made).
func CopyBufferAsync(dst, src *Conn, buf []byte) *CopyFuture {
	return &CopyFuture{dst: dst, src: src, buf: buf}
}

// CopyFuture is the future CopyAsync returns.
type CopyFuture struct {
	dst, src *Conn
	buf      []byte
	lo, hi   int // buf[lo:hi] is read and not yet written
	n        int64
}

// Poll copies until src ends or either side fails.
func (f *CopyFuture) Poll(cx *task.Context) (task.Result[int64], bool) {
	if len(f.buf) == 0 {
		f.buf = make([]byte, 32<<10)
	}
	for {
		if f.lo < f.hi {
			res, ok := f.dst.PollWrite(cx, f.buf[f.lo:f.hi])
			if !ok {
				return task.Result[int64]{}, false
			}
			f.lo += res.Value
			f.n += int64(res.Value)
			if res.Err != nil {
				return task.Result[int64]{Value: f.n, Err: res.Err}, true
			}
			continue
		}
		res, ok := f.src.PollRead(cx, f.buf)
		if !ok {
			return task.Result[int64]{}, false
		}
		if res.Err == io.EOF {
			return task.Result[int64]{Value: f.n}, true
		}
		if res.Err != nil {
			return task.Result[int64]{Value: f.n, Err: res.Err}, true
		}
		f.lo, f.hi = 0, res.Value
	}
}

// maxIovecs is IOV_MAX on Linux and the BSDs.
const maxIovecs = 1024

// bufsLen is the number of bytes in bufs.
func bufsLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
