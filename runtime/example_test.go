//go:build unix

package runtime_test

import (
	"context"
	"fmt"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// countTo is a hand-written future: each poll does one step and asks to be
// polled again, so other tasks run between its steps.
type countTo struct {
	n, i int
}

func (c *countTo) Poll(cx *task.Context) (int, bool) {
	if c.i == c.n {
		return c.i, true
	}
	c.i++
	cx.Waker().Wake() // yield: run me again after the others
	return 0, false
}

func Example() {
	rt, err := runtime.New(runtime.WithWorkers(2))
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())

	h := runtime.Spawn(rt, task.Future[int](&countTo{n: 3}))
	v, err := h.Wait()
	fmt.Println(v, err)
	// Output: 3 <nil>
}

func ExampleBlockOn() {
	rt, err := runtime.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())

	// The main goroutine polls a future that spawns two tasks and awaits
	// both handles.
	var a, b *task.JoinHandle[int]
	sum, err := runtime.BlockOn(rt, task.FutureFunc[int](func(cx *task.Context) (int, bool) {
		if a == nil {
			a = runtime.Spawn(rt, task.Future[int](&countTo{n: 20}))
			b = runtime.Spawn(rt, task.Future[int](&countTo{n: 22}))
		}
		ra, okA := a.Poll(cx)
		rb, okB := b.Poll(cx)
		if !okA || !okB {
			return 0, false
		}
		return ra.Value + rb.Value, true
	}))
	fmt.Println(sum, err)
	// Output: 42 <nil>
}

func ExampleRuntime_Shutdown() {
	rt, err := runtime.New()
	if err != nil {
		panic(err)
	}
	// A task that waits for a wake that never comes.
	h := runtime.Spawn(rt, task.Future[int](task.FutureFunc[int](func(*task.Context) (int, bool) {
		return 0, false
	})))
	fmt.Println(rt.Shutdown(context.Background()))
	_, err = h.Wait()
	fmt.Println(err)
	// Output:
	// <nil>
	// runtime: shut down
}

// Go is `go f()` for tasks: nothing waits for them, and a completed task's
// memory serves the next one. Here a thousand tasks each send their number
// on a task channel, and one goroutine outside the runtime sums them.
func ExampleGo() {
	rt, err := runtime.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())

	tx, rx := task.NewChan[int](16)
	for i := 1; i <= 1000; i++ {
		runtime.Go(rt, task.Future[error](tx.Send(i)))
	}
	sum := 0
	for range 1000 {
		r, err := task.Block(context.Background(), task.Future[task.Result[int]](rx.Recv()))
		if err != nil {
			panic(err)
		}
		sum += r.Value
	}
	fmt.Println(sum)
	// Output: 500500
}
