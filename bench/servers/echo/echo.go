// Package echo holds one TCP echo server per library that bench compares:
// Go's net with a goroutine per connection ("std"), metal's runtime with a
// task per connection ("metal"), and the event-loop peers gnet, netpoll,
// nbio and evio.
//
// Each is written the way its library's own documentation shows an echo
// server, with as many event loops (or workers) as GOMAXPROCS, so that every
// server has the same share of the machine. None is tuned beyond that: the
// peers keep their own defaults for buffers and socket options.
//
// Start one by name:
//
//	srv, err := echo.Start("gnet", "127.0.0.1:0")
//	...
//	fmt.Println(srv.Addr()) // the port actually bound
//	defer srv.Close()
package echo

import (
	"fmt"
	"net"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// Server is an echo server that is serving.
type Server interface {
	// Addr is the address it listens on, with the port the kernel chose
	// when the requested port was 0.
	Addr() net.Addr
	// Close stops it: the listener and every connection are closed (some
	// peers close connections when they next become idle) and its loops
	// end. Call it once.
	Close() error
}

// starters maps each implementation's name to the function that starts it.
var starters = map[string]func(addr string) (Server, error){
	"std":     startStd,
	"metal":   startMetal,
	"gnet":    startGnet,
	"netpoll": startNetpoll,
	"nbio":    startNbio,
	"evio":    startEvio,
}

// Impls returns the names Start accepts, sorted, with "std" (the baseline
// every ratio is taken against) first.
func Impls() []string { return peer.Names(starters) }

// Start starts the echo server named impl listening on addr (host:port; port
// 0 picks a free one) and returns once it accepts connections.
func Start(impl, addr string) (Server, error) {
	start, err := peer.Lookup("echo", starters, impl)
	if err != nil {
		return nil, err
	}
	srv, err := start(addr)
	if err != nil {
		return nil, fmt.Errorf("echo: start %s: %w", impl, err)
	}
	return srv, nil
}

// bufSize is the one buffer the servers that bench writes itself (std and
// metal) use per connection, the same as metal's examples/echo. The peers
// size their own buffers.
const bufSize = 16 << 10

// started turns what a peer.Start function returns into Start's result,
// so that a failed start is a nil Server, not a nil *peer.Server.
func started(s *peer.Server, err error) (Server, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
