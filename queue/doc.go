// Package queue will hold the lock-free queues the rest of metal is built
// on: the intrusive multi-producer, single-consumer readiness queue (nodes
// are reused, and each carries one atomic state word), the bounded ring each
// runtime worker owns, and the inject queue through which other goroutines
// hand work to the runtime.
//
// The package is being built: it has no API yet. The poller's user-space
// readiness (Registration and SetReadiness) and the runtime's run queues are
// its first users.
package queue
