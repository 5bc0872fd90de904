package plaintext

// evio is github.com/tidwall/evio as its HTTP example writes a server: a
// context per connection, set in Opened, holding an evio.InputStream for
// the partial input that Data must keep (Begin joins it to the new
// packet, End keeps what was not consumed), and the responses Data
// returns. Since nothing else keeps the packet after Data returns,
// Opened asks for ReuseInputBuffer, which evio's documentation offers for
// that case (its default copies every packet).

import (
	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/tidwall/evio"
)

var evioResponses = newResponses("evio")

// evioConn is a connection's context. out is returned from Data, which
// evio copies before it calls Data again, so it is reused for the next
// packet.
type evioConn struct {
	in  evio.InputStream
	s   session
	out []byte
}

func startEvio(addr string) (Server, error) {
	return started(peer.StartEvio(addr, evio.Events{
		Opened: func(c evio.Conn) ([]byte, evio.Options, evio.Action) {
			c.SetContext(new(evioConn))
			return nil, evio.Options{ReuseInputBuffer: true}, evio.None
		},
		Data: evioData,
	}))
}

func evioData(c evio.Conn, packet []byte) ([]byte, evio.Action) {
	ec := c.Context().(*evioConn)
	in := ec.in.Begin(packet)
	n, out := ec.s.serve(evioResponses, in, ec.out[:0])
	ec.in.End(in[n:])
	ec.out = out
	if ec.s.closing {
		return out, evio.Close // evio writes out before it closes
	}
	return out, evio.None
}
