package peer

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
)

// NbioLogToStderr sends nbio's log to stderr: it writes to stdout by
// default, where the server commands' first line must be their address.
// The setting is process-wide; call it before starting an nbio engine.
var NbioLogToStderr = sync.OnceFunc(func() { logging.Output = os.Stderr })

// StartNbio serves addr with github.com/lesismal/nbio as its README's quick
// start does: an Engine from NewEngine, with NPoller set to GOMAXPROCS
// (nbio's own default is a quarter of the CPUs), on which setup installs
// the handlers (OnOpen, OnData, ...) before it starts.
func StartNbio(addr string, setup func(*nbio.Engine)) (*Server, error) {
	NbioLogToStderr()
	// Listen is the Config's hook for creating listeners; it is used here
	// only to learn the address bound when the port is 0.
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
	setup(engine)
	if err := engine.Start(); err != nil {
		return nil, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		return engine.Shutdown(ctx)
	}
	return &Server{addr: ln.Addr(), stop: stop}, nil
}
