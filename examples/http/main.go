// Command http is an HTTP/1.1 plaintext server on metal: GET /plaintext
// answers "Hello, World!", the TechEmpower plaintext test.
//
//	go run ./examples/http -addr 127.0.0.1:8080
//	go run ./examples/http -addr 127.0.0.1:8080 -std
//	curl http://127.0.0.1:8080/plaintext
//
// By default it is written directly on metal's runtime: an accept-loop
// task spawns one task (a hand-written future) per connection, which
// parses requests out of its buffer and writes their responses. Every
// complete request in the buffer is answered before the one write of all
// their responses, so pipelined requests cost one write per burst, and in
// steady state a request allocates nothing. Keep-alive is the default for
// HTTP/1.1; Connection: close is honoured, and HTTP/1.0 closes unless it
// asks for keep-alive. Other paths get 404, other methods on /plaintext
// 405 (HEAD is answered like GET, without the body). Request bodies,
// Content-Length or chunked, are read and discarded. Malformed requests
// get 400, heads over 8 KiB 431, unknown transfer codings 501, and the
// connection is closed after them. parser.go lists the rules.
//
// With -std it serves the same route with net/http's Server instead, on
// metal's net.Listener facade: every connection is a metal Conn, so every
// wait of net/http's goroutines goes through metal's poller rather than
// Go's.
//
// The first line it prints is the address it serves on (useful with port
// 0). SIGINT or SIGTERM stops it cleanly, with exit status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
)

// main parses the flags and serves until a signal.
func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (host:port)")
	std := flag.Bool("std", false, "serve with net/http's Server on metal's net.Listener facade")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := serveTasks
	if *std {
		run = serveStd
	}
	if err := run(ctx, *addr, os.Stdout); err != nil {
		log.Fatalf("http: %v", err)
	}
}

// shutdownTimeout bounds how long stopping waits for connections and the
// runtime.
const shutdownTimeout = 5 * time.Second

// serveTasks runs the task-based server until ctx is done. It writes the
// address it listens on, then a newline, to w before it serves.
func serveTasks(ctx context.Context, addr string, w io.Writer) error {
	rt, err := runtime.New()
	if err != nil {
		return err
	}
	defer func() {
		// Cancels every connection task: each closes its connection as
		// it is dropped.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := rt.Shutdown(sctx); err != nil {
			log.Printf("http: %v", err)
		}
	}()

	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintln(w, ln.Addr())

	accept := runtime.Spawn(rt, &acceptLoop{rt: rt, ln: ln})
	done := make(chan error, 1)
	go func() {
		err, werr := accept.Wait()
		done <- errors.Join(err, werr)
	}()
	select {
	case <-ctx.Done():
		ln.Close() // ends the accept loop
		<-done
		return nil
	case err := <-done:
		return fmt.Errorf("accept loop ended: %w", err)
	}
}
