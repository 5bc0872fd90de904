package resp

// std is the baseline: Go's net package with a goroutine per connection
// (peer.StartStd), blocking in Read and then writing each batch of replies
// with one Write, as a hand-written net server does. It uses no bufio: the
// read buffer is the connection's own, so that a command cut short by a
// read stays where it is until the rest arrives.

import (
	"net"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// stdReadBuf is a std connection's read buffer, bufio's default size.
const stdReadBuf = 4 << 10

func startStd(addr string, db *Store) (Server, error) {
	return started(peer.StartStd(addr, func(c net.Conn) { serveStd(c, db) }))
}

// serveStd serves c until the peer closes it, an error occurs, or a
// command ends the connection (peer.StartStd then closes it).
func serveStd(c net.Conn, db *Store) {
	var (
		buf  = make([]byte, stdReadBuf)
		r, w int    // buf[r:w] is read and not yet consumed
		out  []byte // the replies of one batch
	)
	for {
		n, err := c.Read(buf[w:])
		w += n
		for r < w {
			consumed, o, closeAfter := db.Serve(buf[r:w], out[:0])
			r += consumed
			out = o
			if len(out) > 0 {
				if _, err := c.Write(out); err != nil {
					return
				}
			}
			if closeAfter {
				return
			}
			if consumed == 0 {
				break // the rest is a command still arriving
			}
		}
		if err != nil { // io.EOF: the client left; or a reset
			return
		}
		if cap(out) > maxIdleBuf {
			out = nil
		}
		if r == w && len(buf) > maxIdleBuf {
			buf = make([]byte, stdReadBuf) // a large command has gone
		}
		buf, r, w = makeRoom(buf, r, w)
	}
}

// minReadSpace is the least room worth a read: with less free at the end
// of the read buffer, a partial command is moved to its front first.
const minReadSpace = 1 << 10

// makeRoom lays out buf, holding the unconsumed bytes buf[r:w], for the
// next read, and returns it with the new r and w; there is room after w.
// It starts an empty buffer over, moves a partial command to the front
// when little room is left behind it, and, when the command fills the
// buffer on its own, returns a new buffer twice as large holding it. A
// command already at the front is never moved, so a large one arriving in
// pieces is copied only when the buffer grows.
func makeRoom(buf []byte, r, w int) ([]byte, int, int) {
	switch {
	case r == w:
		return buf, 0, 0
	case r > 0 && len(buf)-w < minReadSpace:
		return buf, 0, copy(buf, buf[r:w])
	case w < len(buf):
		return buf, r, w
	}
	grown := make([]byte, 2*len(buf))
	return grown, 0, copy(grown, buf[:w])
}
