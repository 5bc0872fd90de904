// Package resp holds one Redis-protocol (RESP2) server per library that
// bench compares, all serving the same few commands (PING, SET, GET, and
// the CONFIG GET, COMMAND and QUIT that tools send) from an in-memory
// store, so that redis-benchmark can drive any of them: Go's net with a
// goroutine per connection ("std"), metal's runtime with a task per
// connection ("metal"), and the event-loop peers gnet, netpoll, nbio and
// evio.
//
// Only the I/O differs between them. The protocol is shared: Store.Serve
// takes the bytes a connection has sent and not yet had answered, runs
// every complete command among them, and appends the replies to an output
// buffer, saying how many bytes it used. Each implementation keeps the
// unused rest (a command cut short by a read) the way its library's
// documentation shows, and writes the replies of one batch at once.
//
// Each server runs as many event loops (or workers) as GOMAXPROCS, through
// package peer, like the echo servers, and is not tuned beyond that.
//
// Start one by name:
//
//	srv, err := resp.Start("gnet", "127.0.0.1:0")
//	...
//	fmt.Println(srv.Addr()) // the port actually bound
//	defer srv.Close()
//
// and point redis-benchmark at it:
//
//	redis-benchmark -p PORT -t ping,set,get -P 16 -q
package resp

import (
	"fmt"
	"net"
	"sync"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// Server is a RESP server that is serving.
type Server interface {
	// Addr is the address it listens on, with the port the kernel chose
	// when the requested port was 0.
	Addr() net.Addr
	// Close stops it: the listener and every connection are closed (some
	// peers close connections when they next become idle) and its loops
	// end. Call it once.
	Close() error
}

// starters maps each implementation's name to the function that starts it
// with a fresh store.
var starters = map[string]func(addr string, db *Store) (Server, error){
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

// Start starts the RESP server named impl, with an empty store, listening
// on addr (host:port; port 0 picks a free one), and returns once it
// accepts connections.
func Start(impl, addr string) (Server, error) {
	start, err := peer.Lookup("resp", starters, impl)
	if err != nil {
		return nil, err
	}
	srv, err := start(addr, NewStore())
	if err != nil {
		return nil, fmt.Errorf("resp: start %s: %w", impl, err)
	}
	return srv, nil
}

// Buffer sizes shared by the implementations; each keeps its own read
// buffer size (std.go, metal.go) or its library's.
const (
	// outBufSize is the capacity a borrowed output buffer starts with.
	outBufSize = 4 << 10
	// maxIdleBuf is the largest buffer (read, partial command or output)
	// an implementation keeps once it is empty.
	maxIdleBuf = 64 << 10
)

// started turns what a peer.Start function returns into Start's result,
// so that a failed start is a nil Server, not a nil *peer.Server.
func started(s *peer.Server, err error) (Server, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// outBufs holds the output buffers that the event-loop peers' handlers
// borrow for the length of one call: each library copies (or sends)
// whatever it is given to write before its write call returns.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, outBufSize); return &b }}

// getOut borrows an empty output buffer.
func getOut() *[]byte { return outBufs.Get().(*[]byte) }

// putOut gives back an output buffer, out being what it grew to, unless
// it grew larger than is worth keeping.
func putOut(b *[]byte, out []byte) {
	if cap(out) > maxIdleBuf {
		return
	}
	*b = out[:0]
	outBufs.Put(b)
}

// serveAll runs Serve over in until no complete command is left or the
// connection must close, handing each batch of replies to write, which
// must be done with it when it returns. It returns how much of in was
// consumed and out, grown perhaps. The event-loop peers, which have no
// back-pressure to apply between batches, share it.
func serveAll(db *Store, in, out []byte, write func([]byte) error) (consumed int, _ []byte, closeAfter bool, err error) {
	for {
		n, o, closeAfter := db.Serve(in[consumed:], out[:0])
		consumed += n
		out = o
		if len(out) > 0 {
			if err := write(out); err != nil {
				return consumed, out, true, err
			}
		}
		if closeAfter || n == 0 || consumed == len(in) {
			return consumed, out, closeAfter, nil
		}
	}
}
