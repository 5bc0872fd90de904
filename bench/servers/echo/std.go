package echo

// std is the baseline: Go's net package with a goroutine per connection,
// each blocking in Read and then Write on one buffer, as io.Copy would.

import (
	"net"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

func startStd(addr string) (Server, error) { return started(peer.StartStd(addr, stdEcho)) }

// stdEcho echoes c until the peer closes it or an error occurs.
func stdEcho(c net.Conn) {
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
