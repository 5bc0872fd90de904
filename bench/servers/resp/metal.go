package resp

// metal is metal's runtime as examples/kv uses it for the same protocol: an
// async Listener, an accept-loop task (peer.StartMetal), and a task per
// connection whose future, written by hand, reads with Conn.PollRead, runs
// the complete commands, and writes their replies with Conn.PollWrite
// before it reads again, so a client that pipelines without reading is
// held back by its own replies. An idle connection holds no buffer: the
// read and output buffers are borrowed from a pool for a batch and given
// back once no partial command is pending and every reply is written.

import (
	"sync"

	"github.com/metalio/metal/bench/servers/internal/peer"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/task"
)

// metalBufSize is the size of the buffers metal's connections borrow, the
// same as the echo server's.
const metalBufSize = 16 << 10

func startMetal(addr string, db *Store) (Server, error) {
	return started(peer.StartMetal(addr, func(c *metalnet.Conn) task.Future[struct{}] {
		return &metalConn{c: c, db: db}
	}))
}

// metalBufs holds the buffers connections borrow, each metalBufSize long.
var metalBufs = sync.Pool{New: func() any { b := make([]byte, metalBufSize); return &b }}

// putMetalBuf gives a buffer back to metalBufs, unless it has grown, in
// which case the collector has it.
func putMetalBuf(b *[]byte) {
	if cap(*b) == metalBufSize {
		*b = (*b)[:metalBufSize]
		metalBufs.Put(b)
	}
}

// metalConn serves one connection. It goes round three steps, in this
// order, until a socket operation is pending:
//
//	write  out[sent:], the replies of the batch in flight; then give out
//	       back, and close if the batch ended in QUIT or a protocol error
//	serve  the complete commands in in[r:w] into a borrowed out
//	read   into in after w, borrowing in if there is none; give it back
//	       if the read is pending and in holds nothing
//
// It completes when the connection is closed; dropping it (the runtime
// shutting down) closes the connection.
type metalConn struct {
	c  *metalnet.Conn
	db *Store

	in   *[]byte // the read buffer; nil when idle
	r, w int     // (*in)[r:w] is read and not yet consumed

	out     *[]byte // the replies of the batch in flight; nil when none
	sent    int     // how much of *out the kernel has taken
	closing bool    // close once *out is written

	done bool
}

// Poll serves until a read or write is pending or the connection ends.
// Every read and write spends the task's budget, so a client that
// pipelines without pause shares its worker with the others.
func (f *metalConn) Poll(cx *task.Context) (struct{}, bool) {
	for {
		if f.out != nil {
			for f.sent < len(*f.out) {
				res, ok := f.c.PollWrite(cx, (*f.out)[f.sent:])
				if !ok {
					return struct{}{}, false
				}
				if res.Err != nil {
					return f.finish()
				}
				f.sent += res.Value
			}
			putMetalBuf(f.out)
			f.out = nil
			if f.closing {
				return f.finish()
			}
		}

		if f.r < f.w {
			ob := metalBufs.Get().(*[]byte)
			n, out, closeAfter := f.db.Serve((*f.in)[f.r:f.w], (*ob)[:0])
			*ob = out
			f.r += n
			if len(out) > 0 || closeAfter {
				f.out, f.sent, f.closing = ob, 0, closeAfter
				continue
			}
			putMetalBuf(ob)
			if n > 0 {
				continue // commands without arguments, skipped
			}
		}

		if f.in == nil {
			f.in, f.r, f.w = metalBufs.Get().(*[]byte), 0, 0
		} else if buf, r, w := makeRoom(*f.in, f.r, f.w); &buf[0] != &(*f.in)[0] {
			putMetalBuf(f.in)
			f.in, f.r, f.w = &buf, r, w
		} else {
			f.r, f.w = r, w
		}
		res, ok := f.c.PollRead(cx, (*f.in)[f.w:])
		if !ok {
			if f.r == f.w {
				f.releaseIn()
			}
			return struct{}{}, false
		}
		if res.Err != nil { // io.EOF: the client left; or a reset
			return f.finish()
		}
		f.w += res.Value
	}
}

// releaseIn gives back the read buffer.
func (f *metalConn) releaseIn() {
	if f.in != nil {
		putMetalBuf(f.in)
		f.in, f.r, f.w = nil, 0, 0
	}
}

// finish closes the connection, gives back its buffers and completes.
func (f *metalConn) finish() (struct{}, bool) {
	f.Drop()
	return struct{}{}, true
}

// Drop closes the connection and gives back its buffers; the runtime
// calls it for a task it abandons.
func (f *metalConn) Drop() {
	if f.done {
		return
	}
	f.done = true
	_ = f.c.Close()
	f.releaseIn()
	if f.out != nil {
		putMetalBuf(f.out)
		f.out = nil
	}
}
