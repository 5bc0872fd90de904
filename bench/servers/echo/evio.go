package echo

// evio is github.com/tidwall/evio as its README writes an echo server:
// Events whose Data handler returns its input as output.

import (
	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/tidwall/evio"
)

func startEvio(addr string) (Server, error) {
	return started(peer.StartEvio(addr, evio.Events{
		Data: func(_ evio.Conn, in []byte) ([]byte, evio.Action) { return in, evio.None },
	}))
}
