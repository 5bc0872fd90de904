package echo

// nbio is github.com/lesismal/nbio as its README's quick start writes an
// echo server: an Engine from NewEngine whose OnData handler writes the
// data back, with NPoller set to GOMAXPROCS (nbio's own default is a
// quarter of the CPUs). The README copies data before Write; that copy is
// left out because Conn.Write sends at once and itself copies whatever the
// socket does not take, so the data need not outlive the handler.

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
)

// nbio's logger writes to stdout by default, where echoserver's first line
// must be its address; the setting is process-wide.
var nbioLogToStderr = sync.OnceFunc(func() { logging.Output = os.Stderr })

func startNbio(addr string) (Server, error) {
	// Listen is the Config's hook for creating listeners; it is used here
	// only to learn the address bound when the port is 0.
	nbioLogToStderr()
	var ln net.Listener
	engine := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{addr},
		NPoller: runtime.GOMAXPROCS(0),
		Listen: func(network, addr string) (net.Listener, error) {
			l, err := net.Listen(network, addr)
			ln = l
			return l, err
		},
	})
	engine.OnData(func(c *nbio.Conn, data []byte) {
		_, _ = c.Write(data)
	})
	if err := engine.Start(); err != nil {
		return nil, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return engine.Shutdown(ctx)
	}
	return &server{addr: ln.Addr(), stop: stop}, nil
}
