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
// Spawn returns a JoinHandle to wait on, abort or detach. A task nobody
// will wait on (a connection's handler, say) is better started with Go,
// metal's `go f()`: no handle, and the task's memory is reused once it
// completes, so spawning from a worker allocates nothing but the caller's
// own future. SpawnFrom and GoFrom are the same from inside a task's Poll,
// queueing the new task on the caller's worker.
//
// The scheduler's design (run queues, LIFO slot, searching, parking, the
// driver) is described at the top of worker.go, idle.go, park.go and
// driver.go, with the reasons for its numbers.
package runtime
