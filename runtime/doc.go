// Package runtime is metal's multi-threaded task runtime: a fixed set of
// worker goroutines that poll tasks (package task) from run queues of their
// own, a shared inject queue, work stealing between workers, an I/O driver
// on package poller that wakes tasks when their sources become ready, and a
// bounded pool of goroutines for blocking work.
//
// A task is a task.Future, not a goroutine: ten thousand tasks waiting on
// sockets cost ten thousand small structs, and a wake costs a CAS and a
// queue push, never an allocation.
//
//	rt, err := runtime.New()
//	...
//	h := runtime.Spawn(rt, myFuture)
//	v, err := h.Wait()
//	...
//	rt.Shutdown(ctx)
//
// The scheduler's design (run queues, LIFO slot, searching, parking, the
// driver) is described at the top of worker.go, idle.go, park.go and
// driver.go, with the reasons for its numbers.
package runtime
