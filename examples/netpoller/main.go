//go:build unix

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

	"github.com/metalio/metal/runtime"
)

// shutdownTimeout bounds the wait for the runtime to stop.
const shutdownTimeout = 5 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:7002", "address to listen on (host:port)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout); err != nil {
		log.Fatalf("netpoller: %v", err)
	}
}

// run serves on addr until ctx is done. It writes the address it listens
// on, then a newline, to w before it serves. On the way out it closes the
// reactor (no callback runs after that), then the descriptors, then shuts
// the runtime down.
func run(ctx context.Context, addr string, w io.Writer) error {
	rt, err := runtime.New()
	if err != nil {
		return err
	}
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return rt.Shutdown(sctx)
	}
	r := NewReactor(rt)
	s, err := serveLines(r, addr)
	if err != nil {
		return errors.Join(err, shutdown())
	}
	fmt.Fprintln(w, s.Addr())

	<-ctx.Done()
	rerr := r.Close()
	s.closeAll()
	return errors.Join(rerr, shutdown())
}
