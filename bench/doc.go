// Package bench compares metal with its peers: Go's own net package with a
// goroutine per connection, and the event-loop libraries gnet, netpoll,
// nbio and evio.
//
// It is a module of its own so that the peers are pinned in this directory's
// go.mod and never enter the dependencies of the metal library itself.
//
//	servers/echo     one echo server per implementation, each written as its
//	                 library's documentation shows, loops = GOMAXPROCS
//	cmd/server       runs one: -kind echo|resp|http -impl NAME -addr HOST:PORT
//	load             the echo load client: connections, payload size,
//	                 pipelining depth, duration; latency histogram
//	cmd/echoload     runs it and prints one line of results
//
// A measurement pins the server and the client to different CPUs:
//
//	taskset -c 0 go run ./cmd/server -kind echo -impl metal -addr 127.0.0.1:7000
//	taskset -c 1 go run ./cmd/echoload -addr 127.0.0.1:7000 -conns 1000 -size 64 -duration 5s
package bench
