// Command echoserver runs one of bench's echo servers.
//
//	go run ./cmd/echoserver -impl metal -addr 127.0.0.1:7000
//
// -impl names the implementation (std, evio, gnet, metal, nbio, netpoll;
// see package servers/echo); -cpuprofile FILE writes a CPU profile of the
// run. The first line it prints is the address it
// listens on, useful with port 0. SIGINT or SIGTERM stops it: listener and
// connections closed, exit status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/metalio/metal/bench/servers/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatalf("echoserver: %v", err)
	}
}

// run serves as args say until ctx is done, writing the address it listens
// on to stdout first.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("echoserver", flag.ContinueOnError)
	impl := fs.String("impl", "", "implementation: "+strings.Join(echo.Impls(), ", "))
	addr := fs.String("addr", "127.0.0.1:7000", "address to listen on (host:port)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *impl == "" {
		return fmt.Errorf("-impl is required (have: %s)", strings.Join(echo.Impls(), ", "))
	}
	srv, err := echo.Start(*impl, *addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, srv.Addr())
	<-ctx.Done()
	return srv.Close()
}
