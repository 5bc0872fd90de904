// Package runtime will hold metal's multi-threaded task runtime: a fixed set
// of workers with run queues of their own, a shared inject queue, parking of
// idle workers, and the drivers that connect tasks to the outside world, one
// for I/O (on package poller) and one for timers (on package timer). Spawn
// and BlockOn will start tasks from package task on it.
//
// The package is being built: it has no API yet.
package runtime
