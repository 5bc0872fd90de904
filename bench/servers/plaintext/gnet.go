package plaintext

// gnet is github.com/panjf2000/gnet/v2 as its HTTP example writes a server:
// an EventHandler embedding BuiltinEventEngine, with a request reader of
// its own per connection kept in the Conn's context (set in OnOpen).
// OnTraffic reads what Peek(-1) holds, answers the complete requests with
// one Write, and Discards exactly the bytes it consumed, so that a partial
// request stays in gnet's inbound buffer for the next OnTraffic.

import (
	"sync"

	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/panjf2000/gnet/v2"
)

var gnetResponses = newResponses("gnet")

// outBufs holds the buffers responses are gathered in for one write, for
// the servers whose library copies what it cannot write at once (gnet,
// netpoll) and for metal while its write is in flight.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

type gnetHTTP struct{ gnet.BuiltinEventEngine }

func (*gnetHTTP) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(new(session))
	return nil, gnet.None
}

func (*gnetHTTP) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*session)
	in, _ := c.Peek(-1)
	out := outBufs.Get().(*[]byte)
	n, resp := s.serve(gnetResponses, in, (*out)[:0])
	// Discard(0) would discard everything, the partial request too.
	if n > 0 {
		_, _ = c.Discard(n)
	}
	if len(resp) > 0 {
		_, _ = c.Write(resp) // what the socket does not take, gnet copies
	}
	*out = resp
	outBufs.Put(out)
	if s.closing {
		return gnet.Close // gnet writes what it holds before closing
	}
	return gnet.None
}

func startGnet(addr string) (Server, error) { return started(peer.StartGnet(addr, &gnetHTTP{})) }
