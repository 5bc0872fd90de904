package plaintext

// nbio is github.com/lesismal/nbio's HTTP engine, nbhttp, as its README and
// examples write a server: an Engine from nbhttp.NewEngine whose Handler is
// a net/http Handler (the same one std uses), started with Start and
// stopped with Shutdown. NPoller is set to GOMAXPROCS (nbhttp's default
// is a quarter of the CPUs). nbhttp adds the Date header; it sends
// no Server header.

import (
	"context"
	"net"
	"net/http"
	"runtime"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

func startNbio(addr string) (Server, error) {
	peer.NbioLogToStderr()
	// Listen is the Config's hook for creating listeners; it is used here
	// only to learn the address bound when the port is 0.
	var ln net.Listener
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{addr},
		NPoller: runtime.GOMAXPROCS(0),
		Handler: http.HandlerFunc(helloHandler),
		Listen: func(network, addr string) (net.Listener, error) {
			l, err := net.Listen(network, addr)
			ln = l
			return l, err
		},
	})
	if err := engine.Start(); err != nil {
		return nil, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), peer.ShutdownTimeout)
		defer cancel()
		return engine.Shutdown(ctx)
	}
	return peer.New(ln.Addr(), stop), nil
}
