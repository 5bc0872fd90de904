// Package task will hold metal's futures-style tasks: the Future interface
// (Poll returns a value and whether it is ready), the Context a task is polled
// with, the Waker that schedules it again from any goroutine, the JoinHandle
// through which a task's result is awaited or the task aborted, combinators,
// and synchronisation primitives that park a task instead of a goroutine.
//
// The package is being built: it has no API yet. Package runtime will run
// these tasks on its workers.
package task
