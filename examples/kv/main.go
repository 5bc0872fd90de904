// Command kv is an in-memory key-value server that speaks the Redis
// protocol (RESP2), on metal's runtime: one task per connection, each a
// hand-written future that reads with Conn.PollRead, runs every complete
// command in its buffer and writes all the replies with one write before
// it reads again. redis-cli and redis-benchmark work against it.
//
//	go run ./examples/kv -addr 127.0.0.1:6380
//	redis-cli -p 6380 SET greeting hello
//	redis-benchmark -p 6380 -t ping,set,get -P 16 -q
//
// With -std it serves the same protocol, commands and store on Go's own
// net package with a goroutine per connection, for comparison.
//
// Commands: PING, ECHO, SET (EX, PX, NX, XX, KEEPTTL), GET, STRLEN, DEL,
// EXISTS, INCR, DECR, INCRBY, DECRBY, MGET, MSET, EXPIRE, PEXPIRE (NX, XX,
// GT, LT), TTL, PTTL, DBSIZE, FLUSHALL, FLUSHDB, COMMAND (COUNT, DOCS, INFO),
// CONFIG GET, QUIT. Inline commands ("PING\r\n", as nc sends) work too.
//
// The first line it prints is the address it serves on (useful with port
// 0). SIGINT or SIGTERM stops it cleanly: listener and connections closed,
// exit status 0.
//
// With -debug ADDR (off by default) it also serves expvar's /debug/vars
// on ADDR, over Go's own net/http: the Go runtime's memstats, the command
// line, and "goroutines", the number of goroutines. It logs the address,
// as "kv: debug: serving http://ADDR/debug/vars", to standard error, so
// -debug 127.0.0.1:0 works too. bench/cmd/soak watches the server this
// way.
//
// The files: resp.go decodes requests and encodes replies, commands.go is
// the command table, store.go the sharded keyspace, conn.go the metal
// server (the connection future and the accept loop), std.go the -std
// server.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/metalio/metal/internal/debugvars"
)

// main parses the flags and serves until SIGINT or SIGTERM.
func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "address to listen on (host:port)")
	std := flag.Bool("std", false, "serve with Go's net package, a goroutine per connection, instead of metal")
	workers := flag.Int("workers", 0, "metal runtime workers (0: GOMAXPROCS)")
	debug := flag.String("debug", "", "if set, serve expvar's /debug/vars on this address (host:port)")
	flag.Parse()

	if *debug != "" {
		if err := debugvars.Serve(*debug, "kv"); err != nil {
			log.Fatalf("kv: -debug: %v", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *std {
		err = serveStd(ctx, *addr, os.Stdout)
	} else {
		err = serveMetal(ctx, *addr, os.Stdout, *workers)
	}
	if err != nil {
		log.Fatalf("kv: %v", err)
	}
}
