// Package task holds metal's futures-style tasks.
//
// A Future is a computation that finishes later: Poll advances it without
// blocking and returns (value, true) once it is ready, or (zero, false)
// after arranging for its Context's Waker to be woken when polling again
// could make progress. A Waker is a small copyable value; Wake is safe from
// any goroutine, any number of times, and never allocates.
//
// Around that core:
//
//   - JoinHandle is a spawned task's result: a Future of Result, Wait and
//     WaitContext for ordinary goroutines, Abort and Detach. A panic in a
//     task ends it with a *PanicError (errors.Is ErrPanicked).
//   - Combinators: Ready, Pending, FutureFunc, Map, Then, Join2, JoinAll,
//     Select (fair: it rotates which future it polls first), Yield and
//     YieldNow.
//   - Coroutine and Await write a task as straight-line code that awaits
//     futures, on iter.Pull; each costs one parked goroutine, where a
//     hand-written Future costs none.
//   - Task-aware synchronisation that parks tasks, not goroutines:
//     NewOneshot, NewChan (bounded, many senders, one receiver), Notify,
//     Semaphore (FIFO-fair) and Mutex.
//   - Block polls a future on the calling goroutine.
//   - Task, Scheduler, Outcome and Set are the executor's side: package
//     runtime is one executor built on them, and anyone can write another.
//
// Budget: each poll of a task may complete Budget operations on these
// primitives; after that they return pending on purpose and the task is
// polled again after the others (Context.Proceed), so one busy task cannot
// keep its worker from the rest.
package task
