package echo

// nbio is github.com/lesismal/nbio as its README's quick start writes an
// echo server: an OnData handler that writes the data back. The README
// copies data before Write; that copy is left out because Conn.Write sends
// at once and itself copies whatever the socket does not take, so the data
// need not outlive the handler.

import (
	"github.com/lesismal/nbio"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

func startNbio(addr string) (Server, error) {
	return started(peer.StartNbio(addr, func(e *nbio.Engine) {
		e.OnData(func(c *nbio.Conn, data []byte) { _, _ = c.Write(data) })
	}))
}
