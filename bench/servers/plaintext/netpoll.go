package plaintext

// netpoll is github.com/cloudwego/netpoll as its guide writes a server: an
// OnRequest handler that reads with the Reader's Peek and Skip and writes
// with the Writer's Malloc and Flush. netpoll calls OnRequest again for
// as long as unread input remains, so a handler must read all of it or
// block for the rest: when the input ends inside a request, the handler
// waits for its next bytes with a blocking Peek, as netpoll's Reader is
// designed to be used, and keeps its request reader on its stack
// meanwhile. It returns once every request read has been answered.

import (
	"context"

	"github.com/cloudwego/netpoll"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

var netpollResponses = newResponses("netpoll")

func startNetpoll(addr string) (Server, error) { return started(peer.StartNetpoll(addr, netpollHTTP)) }

func netpollHTTP(_ context.Context, c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	var s session
	for {
		in, err := r.Peek(r.Len())
		if err != nil {
			return err
		}
		out := outBufs.Get().(*[]byte)
		n, resp := s.serve(netpollResponses, in, (*out)[:0])
		err = r.Skip(n)
		if err == nil && len(resp) > 0 {
			var p []byte
			if p, err = w.Malloc(len(resp)); err == nil {
				copy(p, resp)
				err = w.Flush()
			}
		}
		*out = resp
		outBufs.Put(out)
		if err != nil {
			return err
		}
		if err := r.Release(); err != nil {
			return err
		}
		if s.closing {
			return c.Close()
		}
		// What serve left of in is part of a request; r may hold more,
		// which arrived after the Peek.
		left := len(in) - n
		switch {
		case r.Len() > left:
			continue
		case left == 0 && s.body == 0:
			return nil
		}
		// A request is not complete: wait for more of it.
		if _, err := r.Peek(left + 1); err != nil {
			return err
		}
	}
}
