// Command echoload measures an echo server.
//
//	go run ./cmd/echoload -addr 127.0.0.1:7000 -conns 1000 -size 64 -pipeline 1 -duration 5s
//
// Each connection writes -pipeline messages of -size bytes, reads them all
// back and checks every byte, over and over until -duration has passed; all
// connections are open before the clock starts. It prints one line:
//
//	msgs/s=... MB/s=... p50=...µs p99=...µs p999=...µs errors=N
//
// where latency is per round trip (one write of -pipeline messages to the
// last byte of their echo) and MB/s counts payload one way. SIGINT stops
// the run early and prints what was measured. The exit status is 1 if any
// error was counted. SIGUSR1 prints "progress msgs=N", the messages
// verified so far, and the run goes on.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/metalio/metal/bench/load"
)

func main() {
	var cfg load.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:7000", "echo server address (host:port)")
	flag.IntVar(&cfg.Conns, "conns", 50, "connections")
	flag.IntVar(&cfg.Size, "size", 64, "bytes per message")
	flag.IntVar(&cfg.Pipeline, "pipeline", 1, "messages written before their echoes are read")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "how long to run")
	hold := flag.Bool("hold", false, "open the connections, echo one message on each, print a ready line and hold them until stopped")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGUSR1 prints how many messages have been verified so far, for a
	// measurement over part of the run.
	var progress atomic.Uint64
	cfg.Progress = &progress
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			fmt.Printf("progress msgs=%d\n", progress.Load())
		}
	}()
	if *hold {
		err := load.Hold(ctx, cfg.Addr, cfg.Conns, cfg.Size, func(open int, err error) {
			if err != nil {
				fmt.Printf("ready open=%d first_error=%q\n", open, err.Error())
				return
			}
			fmt.Printf("ready open=%d\n", open)
		})
		if err != nil {
			log.Fatalf("echoload: %v", err)
		}
		return
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		log.Fatalf("echoload: %v", err)
	}
	fmt.Println(res)
	if res.Errors > 0 {
		os.Exit(1)
	}
}
