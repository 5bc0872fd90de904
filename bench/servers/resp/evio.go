package resp

// evio is github.com/tidwall/evio as its README describes a server for a
// protocol whose requests may span reads: a Data handler that returns the
// replies as out, and, as the connection's Context (set in Opened), an
// evio.InputStream, whose Begin prepends the input kept from before and
// whose End keeps what the handler did not use. evio copies out before
// Data returns, and writes it before it acts on Close, so a reply that
// ends the connection (QUIT, a protocol error) is sent first. Opened asks
// for ReuseInputBuffer, so that evio hands over its loop's read buffer
// instead of a fresh copy of every read: the InputStream copies the part
// that must outlive the call.

import (
	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/tidwall/evio"
)

// evioSession is one connection's Context.
type evioSession struct {
	in  evio.InputStream
	out []byte // the replies of one Data call; evio copies them
}

func startEvio(addr string, db *Store) (Server, error) {
	return started(peer.StartEvio(addr, evio.Events{
		Opened: func(c evio.Conn) ([]byte, evio.Options, evio.Action) {
			c.SetContext(&evioSession{})
			return nil, evio.Options{ReuseInputBuffer: true}, evio.None
		},
		Data: func(c evio.Conn, in []byte) ([]byte, evio.Action) {
			return evioServe(c.Context().(*evioSession), in, db)
		},
	}))
}

// evioServe serves in, which follows what s kept, and returns the replies.
func evioServe(s *evioSession, in []byte, db *Store) ([]byte, evio.Action) {
	data := s.in.Begin(in)
	out := s.out[:0]
	consumed := 0
	for {
		n, o, closeAfter := db.Serve(data[consumed:], out)
		consumed += n
		out = o
		if closeAfter {
			return out, evio.Close
		}
		if n == 0 || consumed == len(data) {
			break
		}
	}
	s.in.End(data[consumed:])
	if consumed == len(data) && cap(data) > maxIdleBuf {
		// The InputStream kept a large command, now gone: let its buffer
		// go rather than keep it for good.
		s.in = evio.InputStream{}
	}
	if cap(out) <= maxIdleBuf {
		s.out = out
	} else {
		s.out = nil
	}
	return out, evio.None
}
