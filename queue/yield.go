package queue

import "runtime"

// yield lets the goroutine that owes the queue a link run.
func yield() { runtime.Gosched() }
