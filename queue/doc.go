// Package queue holds metal's lock-free queues. Today that is the readiness
// queue: the intrusive MPSC queue of reusable nodes, one atomic state word
// per node, that carries user-space readiness (poller.Registration and
// SetReadiness) from any goroutine to the Poll. The runtime's per-worker ring
// and inject queue come with the runtime.
package queue
