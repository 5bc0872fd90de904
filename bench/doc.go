// Package bench will hold the benchmarks that compare metal with its peers:
// Go's own net package, and event-loop libraries such as gnet, netpoll and
// nbio.
//
// It is a module of its own so that the peers are pinned in this directory's
// go.mod and never enter the dependencies of the metal library itself. The
// benchmarks and their published figures arrive in a later issue.
package bench
