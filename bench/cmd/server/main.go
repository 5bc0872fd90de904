// Command server runs one of bench's servers.
//
//	go run ./cmd/server -kind echo -impl metal -addr 127.0.0.1:7000
//
// -kind names the protocol: echo (package servers/echo), resp (a Redis
// PING/SET/GET server, package servers/resp) or http (the plaintext route,
// package servers/plaintext). -impl names the implementation: std, metal
// and the peers; -list prints them. -cpuprofile FILE writes a CPU
// profile of the run; -memprofile FILE a heap profile at each SIGUSR1.
//
// The first line it prints is the address it listens on, useful with port
// 0. SIGUSR1 makes it collect garbage and return freed memory to the
// system (runtime/debug.FreeOSMemory) and then print "gc" on a line of its
// own, so that a measurement of its resident memory counts only what it
// holds. SIGINT or SIGTERM stops it: listener and connections closed, exit
// status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"github.com/metalio/metal/bench/servers/echo"
	"github.com/metalio/metal/bench/servers/plaintext"
	"github.com/metalio/metal/bench/servers/resp"
)

// server is what every servers package's Start returns.
type server interface {
	Addr() net.Addr
	Close() error
}

// kind is one protocol's servers.
type kind struct {
	impls func() []string
	start func(impl, addr string) (server, error)
}

// kindOf adapts a servers package's Impls and Start.
func kindOf[S server](impls func() []string, start func(impl, addr string) (S, error)) kind {
	return kind{impls, func(impl, addr string) (server, error) {
		s, err := start(impl, addr)
		if err != nil {
			return nil, err
		}
		return s, nil
	}}
}

var kinds = map[string]kind{
	"echo": kindOf(echo.Impls, echo.Start),
	"resp": kindOf(resp.Impls, resp.Start),
	"http": kindOf(plaintext.Impls, plaintext.Start),
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatalf("server: %v", err)
	}
}

// kindNames returns the -kind values, sorted.
func kindNames() []string {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// run serves as args say until ctx is done, writing the address it listens
// on to stdout first.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	kindName := fs.String("kind", "echo", "protocol: "+strings.Join(kindNames(), ", "))
	impl := fs.String("impl", "", "implementation (-impl help lists them)")
	addr := fs.String("addr", "127.0.0.1:7000", "address to listen on (host:port)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := fs.String("memprofile", "", "on SIGUSR1, after collecting garbage, write a heap profile to this file")
	list := fs.Bool("list", false, "print the implementations of -kind, one a line, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, ok := kinds[*kindName]
	if !ok {
		return fmt.Errorf("unknown -kind %q (have: %s)", *kindName, strings.Join(kindNames(), ", "))
	}
	if *list {
		for _, name := range k.impls() {
			fmt.Fprintln(stdout, name)
		}
		return nil
	}
	if *impl == "" || *impl == "help" {
		return fmt.Errorf("-impl is required (have for %s: %s)", *kindName, strings.Join(k.impls(), ", "))
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
	// Catch SIGUSR1 before saying where we listen: whoever reads the
	// address may send it at once.
	gc := make(chan os.Signal, 1)
	signal.Notify(gc, syscall.SIGUSR1)
	defer signal.Stop(gc)
	srv, err := k.start(*impl, *addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, srv.Addr())
	for {
		select {
		case <-gc:
			debug.FreeOSMemory()
			if *memprofile != "" {
				if err := writeHeapProfile(*memprofile); err != nil {
					return err
				}
			}
			fmt.Fprintln(stdout, "gc")
		case <-ctx.Done():
			return srv.Close()
		}
	}
}

// writeHeapProfile writes the heap profile as of the last collection.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
