package resp

// gnet is github.com/panjf2000/gnet/v2 as its documentation shows a
// request/response codec: an EventHandler embedding BuiltinEventEngine
// whose OnTraffic peeks at everything buffered (Conn.Peek(-1)), decodes
// the complete requests, writes their replies with Conn.Write (on the
// event loop, where it writes at once and buffers only what the socket
// does not take), and discards exactly the bytes those requests took. A
// request cut short stays in gnet's inbound buffer, and a later OnTraffic
// sees it again with the bytes that followed.
//
// Two things are kept in the connection's Context (Conn.SetContext):
//
//   - How long the command cut short is known to be (Need). Peek copies
//     the inbound buffer into one slice whenever it holds anything, so a
//     large command arriving in pieces would be copied at every piece;
//     OnTraffic does not look until that much is buffered
//     (Conn.InboundBuffered).
//   - That the connection is closing. Returning Close makes gnet write
//     what it buffers for the connection only as far as the socket takes
//     it at once, and drop the rest, so after QUIT (or a protocol error)
//     with replies still buffered the connection is not closed yet: a
//     goroutine wakes it (Conn.Wake, which runs OnTraffic on its loop)
//     every gnetClosePoll until gnet's buffer is empty, and OnTraffic
//     closes it then.

import (
	"time"

	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/panjf2000/gnet/v2"
)

// gnetClosePoll is how often a closing connection with replies still
// buffered is looked at.
const gnetClosePoll = 5 * time.Millisecond

type gnetResp struct {
	gnet.BuiltinEventEngine
	db *Store
}

// gnetClosing is the Context of a connection that closes once gnet has
// sent every reply it buffers for it.
type gnetClosing struct {
	closed chan struct{} // closed by OnClose
}

func (h *gnetResp) OnTraffic(c gnet.Conn) gnet.Action {
	switch ctx := c.Context().(type) {
	case int:
		if c.InboundBuffered() < ctx {
			return gnet.None // the command cut short has still not all arrived
		}
	case *gnetClosing:
		_, _ = c.Discard(-1) // input after the last command is ignored
		if c.OutboundBuffered() > 0 {
			return gnet.None
		}
		return gnet.Close
	}
	in, err := c.Peek(-1)
	if err != nil {
		return gnet.Close
	}
	ob := getOut()
	consumed, out, closeAfter, err := serveAll(h.db, in, *ob, func(b []byte) error {
		_, err := c.Write(b)
		return err
	})
	putOut(ob, out)
	switch {
	case err != nil:
		return gnet.Close
	case closeAfter && c.OutboundBuffered() == 0:
		return gnet.Close
	case closeAfter:
		closing := &gnetClosing{closed: make(chan struct{})}
		c.SetContext(closing)
		go closing.wakeUntilClosed(c)
		_, _ = c.Discard(-1)
		return gnet.None
	case consumed < len(in):
		c.SetContext(Need(in[consumed:]))
	case c.Context() != nil:
		c.SetContext(nil)
	}
	// After Discard, in is no longer valid. Discard(0) would discard
	// everything buffered: gnet reads n <= 0 as "all".
	if consumed > 0 {
		_, _ = c.Discard(consumed)
	}
	return gnet.None
}

func (h *gnetResp) OnClose(c gnet.Conn, _ error) gnet.Action {
	if closing, ok := c.Context().(*gnetClosing); ok {
		close(closing.closed)
	}
	return gnet.None
}

// wakeUntilClosed wakes c every gnetClosePoll until it is closed.
func (cl *gnetClosing) wakeUntilClosed(c gnet.Conn) {
	tick := time.NewTicker(gnetClosePoll)
	defer tick.Stop()
	for {
		select {
		case <-cl.closed:
			return
		case <-tick.C:
			if c.Wake(nil) != nil {
				return
			}
		}
	}
}

func startGnet(addr string, db *Store) (Server, error) {
	return started(peer.StartGnet(addr, &gnetResp{db: db}))
}
