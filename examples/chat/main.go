// Command chat is a line-based chat server on metal's runtime: one task
// (a hand-written future) per connection, spawned by an accept-loop task.
//
//	go run ./examples/chat -addr 127.0.0.1:7001
//	nc 127.0.0.1 7001
//
// A client first chooses a nick; after that every line it sends goes to
// every other client as "<nick> line", joins and leaves are announced, and
// /who, /nick NEW, /quit and /help are commands. protocol.go has the
// details, including what is refused.
//
// Slow clients never stall the others. Each client has a bounded outbox
// (256 KiB); a broadcast appends to the other clients' outboxes and wakes
// their tasks without waiting for any socket. A client whose outbox
// overflows (it stopped reading, or reads far slower than the room talks)
// is disconnected, and the others see "* nick left (too slow)". A client
// that vanishes is noticed by the failed read or write and announced as
// left.
//
// The first line it prints is the address it serves on (useful with port
// 0). SIGINT or SIGTERM stops it cleanly: the listener and every
// connection are closed, and it exits with status 0.
package main

import (
	"context"
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
	addr := flag.String("addr", "127.0.0.1:7001", "address to listen on (host:port)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, os.Stdout); err != nil {
		log.Fatalf("chat: %v", err)
	}
}

// shutdownTimeout bounds how long stopping waits for the runtime.
const shutdownTimeout = 5 * time.Second

// serve runs the chat server until ctx is done. It writes the address it
// listens on, then a newline, to w before it serves.
func serve(ctx context.Context, addr string, w io.Writer) error {
	rt, err := runtime.New()
	if err != nil {
		return err
	}
	defer func() {
		// Cancels every client task: each closes its connection as it
		// is dropped.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := rt.Shutdown(sctx); err != nil {
			log.Printf("chat: %v", err)
		}
	}()

	ln, err := metalnet.ListenRuntime(rt, "tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintln(w, ln.Addr())

	accept := runtime.Spawn(rt, &acceptLoop{rt: rt, ln: ln, room: newRoom()})
	done := make(chan error, 1)
	go func() {
		err, werr := accept.Wait()
		if werr != nil {
			err = werr
		}
		done <- err
	}()
	select {
	case <-ctx.Done():
		ln.Close() // ends the accept loop
		<-done
		return nil
	case err := <-done:
		if err == nil {
			err = fmt.Errorf("accept loop ended")
		}
		return err
	}
}
