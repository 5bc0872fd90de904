package echo

// gnet is github.com/panjf2000/gnet/v2 as its README writes an echo server:
// an EventHandler embedding BuiltinEventEngine whose OnTraffic writes back
// what Conn.Next(-1) returns.

import (
	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/panjf2000/gnet/v2"
)

type gnetEcho struct{ gnet.BuiltinEventEngine }

func (*gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

func startGnet(addr string) (Server, error) { return started(peer.StartGnet(addr, &gnetEcho{})) }
