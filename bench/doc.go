// Package bench compares metal with its peers: Go's own net package with a
// goroutine per connection, the event-loop libraries gnet, netpoll, nbio
// and evio, fasthttp for HTTP, and the C anchors redis-server and nginx.
//
// It is a module of its own so that the peers are pinned in this directory's
// go.mod and never enter the dependencies of the metal library itself.
//
//	servers/echo       one echo server per implementation, each written as
//	                   its library's documentation shows, loops = GOMAXPROCS
//	servers/resp       the same RESP PING/SET/GET server per implementation,
//	                   one parser and store shared by all
//	servers/plaintext  the same HTTP/1.1 plaintext route per implementation
//	                   (and fasthttp), plus nginx's configuration
//	cmd/server         runs one: -kind echo|resp|http -impl NAME -addr HOST:PORT
//	load               the echo load client: connections, payload size,
//	                   pipelining depth, duration; latency histogram
//	cmd/echoload       runs it and prints one line of results
//	cmd/soak           a bounded soak of churn and traffic against
//	                   examples/echo and examples/kv; see docs/RELIABILITY.md
//	cmd/compare        runs every scenario and writes results/RESULTS.md,
//	                   results/results.json and results/chart.svg
//
// One command measures everything, pinning servers and load generators to
// different CPUs:
//
//	cd bench && go run ./cmd/compare          # about 15 minutes
//	cd bench && go run ./cmd/compare -quick   # under 5 minutes
//
// A single measurement by hand:
//
//	taskset -c 0 go run ./cmd/server -kind echo -impl metal -addr 127.0.0.1:7000
//	taskset -c 1 go run ./cmd/echoload -addr 127.0.0.1:7000 -conns 1000 -size 64 -duration 5s
package bench
