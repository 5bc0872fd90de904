// Package plaintext holds one HTTP/1.1 "plaintext" server per library that
// bench compares, the TechEmpower test of that name: every request gets a
// 200 response with the body "Hello, World!", Content-Type: text/plain,
// Content-Length: 13, and the Date and Server headers each library emits.
// Connections are kept alive, and pipelined requests are answered in
// order.
//
// Three libraries have an HTTP server of their own, used as its
// documentation shows: Go's net/http ("std"), fasthttp, and nbio's nbhttp
// ("nbio"). The others (metal, gnet, netpoll, evio) move bytes only; their
// servers share one minimal request reader (parser.go) and answer from
// precomputed responses (response.go), as gnet's own HTTP example and the
// TechEmpower entries for these libraries do. Each runs with as many event
// loops (or workers) as GOMAXPROCS, and none is tuned beyond that.
//
// The anchor every Go server is read against is nginx answering the same
// route: NginxConfig writes its configuration and StartNginx runs it.
//
// Load comes from wrk, plain or pipelined with testdata/pipeline.lua (16
// requests a write unless told otherwise):
//
//	wrk -t1 -c256 -d10s -s testdata/pipeline.lua http://127.0.0.1:8080/ 16
//
// Start one by name:
//
//	srv, err := plaintext.Start("gnet", "127.0.0.1:0")
//	...
//	fmt.Println(srv.Addr()) // the port actually bound
//	defer srv.Close()
package plaintext

import (
	"fmt"
	"net"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// Server is a plaintext server that is serving.
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
	"std":      startStd,
	"fasthttp": startFasthttp,
	"nbio":     startNbio,
	"metal":    startMetal,
	"gnet":     startGnet,
	"netpoll":  startNetpoll,
	"evio":     startEvio,
}

// Impls returns the names Start accepts, sorted, with "std" (the baseline
// every ratio is taken against) first.
func Impls() []string { return peer.Names(starters) }

// Start starts the plaintext server named impl listening on addr
// (host:port; port 0 picks a free one) and returns once it accepts
// connections.
func Start(impl, addr string) (Server, error) {
	start, err := peer.Lookup("plaintext", starters, impl)
	if err != nil {
		return nil, err
	}
	srv, err := start(addr)
	if err != nil {
		return nil, fmt.Errorf("plaintext: start %s: %w", impl, err)
	}
	return srv, nil
}

// started turns what a peer.Start function returns into Start's result,
// so that a failed start is a nil Server, not a nil *peer.Server.
func started(s *peer.Server, err error) (Server, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
