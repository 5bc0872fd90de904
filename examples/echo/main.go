// Command echo is a TCP echo server on metal, written two ways.
//
//	go run ./examples/echo -addr 127.0.0.1:7000              # -mode task
//	go run ./examples/echo -addr 127.0.0.1:7000 -mode poller
//
// -mode task (the default, task.go) is the tokio way: a runtime, an
// async Listener, an accept-loop task, and one task per connection, a
// hand-written future that reads with Conn.PollRead and echoes with the
// future Conn.WriteAsync returns. The runtime's I/O driver wakes a task
// when its socket is ready; no goroutine waits on a socket.
//
// -mode poller (poller.go) is the mio way: no runtime, one goroutine that
// owns a poller.Poll, one token per connection, every socket drained to
// would-block, readable and writable handled in the same event.
//
// Both hold one buffer of 16 KiB per connection and read nothing more
// while an echo is still being written, so a client that sends without
// reading costs the server that buffer and no more: the kernel's buffers
// fill and the client's writes block.
//
// The first line it prints is the address it serves on (useful with port
// 0). SIGINT or SIGTERM stops it cleanly: listener and connections
// closed, exit status 0.
//
// With -debug ADDR (off by default) it also serves expvar's /debug/vars
// on ADDR, over Go's own net/http: the Go runtime's memstats, the command
// line, and "goroutines", the number of goroutines. It logs the address,
// as "echo: debug: serving http://ADDR/debug/vars", to standard error, so
// -debug 127.0.0.1:0 works too. bench/cmd/soak watches the server this
// way.
package main

import (
	"context"
	"flag"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/metalio/metal/internal/debugvars"
)

// bufSize is each connection's one buffer. Nothing more is read while an
// echo is still being written, so a slow reader costs the server this much
// and no more.
const bufSize = 16 << 10

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "address to listen on (host:port)")
	mode := flag.String("mode", "task", "server style: task (a task per connection on a runtime) or poller (a raw mio-style event loop)")
	debug := flag.String("debug", "", "if set, serve expvar's /debug/vars on this address (host:port)")
	flag.Parse()

	if *debug != "" {
		if err := debugvars.Serve(*debug, "echo"); err != nil {
			log.Fatalf("echo: -debug: %v", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch *mode {
	case "task":
		err = serveTasks(ctx, *addr, os.Stdout)
	case "poller":
		ap, perr := netip.ParseAddrPort(*addr)
		if perr != nil {
			log.Fatalf("echo: -addr: %v", perr)
		}
		err = servePoller(ctx, ap, os.Stdout)
	default:
		log.Fatalf("echo: unknown -mode %q (have: task, poller)", *mode)
	}
	if err != nil {
		log.Fatalf("echo: %v", err)
	}
}
