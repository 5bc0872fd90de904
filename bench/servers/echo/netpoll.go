package echo

// netpoll is github.com/cloudwego/netpoll as its guide writes a server: an
// OnRequest handler that takes what the Reader holds with Next, hands it to
// the Writer without a copy (WriteBinary), Flushes and Releases.

import (
	"context"

	"github.com/cloudwego/netpoll"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

func startNetpoll(addr string) (Server, error) { return started(peer.StartNetpoll(addr, netpollEcho)) }

func netpollEcho(_ context.Context, c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	buf, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	if _, err := w.WriteBinary(buf); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return r.Release()
}
