package task_test

import (
	"context"
	"fmt"

	"github.com/metalio/metal/task"
)

// runQueue is about the smallest executor there is: Schedule queues a
// task, and one goroutine runs whatever comes out of the queue.
type runQueue chan *task.Task

func (q runQueue) Schedule(t *task.Task) { q <- t }

func (q runQueue) run() {
	for t := range q {
		if o := t.Run(); o == task.Yielded || o == task.Exhausted {
			q.Schedule(t)
		}
	}
}

func spawn[T any](q runQueue, f task.Future[T]) *task.JoinHandle[T] {
	t, h := task.New(f, q)
	q.Schedule(t)
	return h
}

// A Future is polled until it is ready; when it is not, it arranges for
// its Waker to be woken. Block polls one on the calling goroutine.
func Example() {
	polls := 0
	countdown := task.FutureFunc[string](func(cx *task.Context) (string, bool) {
		polls++
		if polls < 3 {
			cx.Waker().Wake() // nothing to wait for: ask to be polled again
			return "", false
		}
		return fmt.Sprintf("ready at poll %d", polls), true
	})
	v, err := task.Block(context.Background(), countdown)
	fmt.Println(v, err)
	// Output: ready at poll 3 <nil>
}

// A JoinHandle is the spawner's side of a task: Wait for its result from
// a goroutine, or await it (it is a Future) from another task.
func ExampleJoinHandle() {
	q := make(runQueue, 16)
	go q.run()
	defer close(q)

	worker := spawn(q, task.Coroutine(func(co *task.Co) int {
		sum := 0
		for i := 1; i <= 4; i++ {
			task.Await(co, task.YieldNow()) // let other tasks run
			sum += i
		}
		return sum
	}))
	boss := spawn(q, task.Map(worker, func(r task.Result[int]) string {
		return fmt.Sprintf("worker said %d (err %v)", r.Value, r.Err)
	}))
	v, err := boss.Wait()
	fmt.Println(v, err)
	// Output: worker said 10 (err <nil>) <nil>
}

// Select waits for whichever future is ready first and drops the rest.
// Futures of different types are mapped to one type to be selected.
func ExampleSelect() {
	jobs, jobsRx := task.NewChan[string](4)
	quit, quitRx := task.NewOneshot[struct{}]()
	_ = jobs.TrySend("compile")

	// A RecvFuture has nothing to drop, but a OneshotReceiver closes when
	// dropped: FutureFunc(quitRx.Poll) lends it to each Select instead.
	quitting := task.FutureFunc[task.Result[struct{}]](quitRx.Poll)
	next := func() task.Future[task.Selected[string]] {
		return task.Select(
			task.Map(jobsRx.Recv(), func(r task.Result[string]) string { return "job: " + r.Value }),
			task.Map(quitting, func(r task.Result[struct{}]) string { return fmt.Sprint("quit ", r.Err) }),
		)
	}
	s, _ := task.Block(context.Background(), next())
	fmt.Println(s.Index, s.Value)

	_ = quit.Send(struct{}{})
	s, _ = task.Block(context.Background(), next())
	fmt.Println(s.Index, s.Value)
	// Output:
	// 0 job: compile
	// 1 quit <nil>
}

// A coroutine reads as straight-line code: Await suspends it until the
// awaited future is ready.
func ExampleCoroutine() {
	tx, rx := task.NewChan[int](3)
	for i := 1; i <= 3; i++ {
		_ = tx.TrySend(i * 10)
	}
	tx.Close()

	sum := task.Coroutine(func(co *task.Co) string {
		total := 0
		for {
			r := task.Await(co, rx.Recv())
			if r.Err != nil {
				return fmt.Sprintf("total %d, then %v", total, r.Err)
			}
			total += r.Value
		}
	})
	v, _ := task.Block(context.Background(), sum)
	fmt.Println(v)
	// Output: total 60, then task: closed
}

// A oneshot carries one result from a goroutine (or a task) to a task.
func ExampleNewOneshot() {
	tx, rx := task.NewOneshot[string]()
	go func() {
		_ = tx.Send("computed elsewhere")
	}()
	r, _ := task.Block(context.Background(), task.Future[task.Result[string]](rx))
	fmt.Println(r.Value, r.Err)

	tx2, rx2 := task.NewOneshot[string]()
	tx2.Close() // the sender gives up
	r, _ = task.Block(context.Background(), task.Future[task.Result[string]](rx2))
	fmt.Println(r.Err)
	// Output:
	// computed elsewhere <nil>
	// task: closed
}

// A bounded channel pushes back: a send into a full channel waits until
// the receiver makes room.
func ExampleNewChan() {
	tx, rx := task.NewChan[int](2)
	go func() {
		for i := 1; i <= 5; i++ {
			if _, err := task.Block(context.Background(), task.Future[error](tx.Send(i))); err != nil {
				panic(err)
			}
		}
		tx.Close()
	}()
	recv := rx.Recv()
	for {
		r, _ := task.Block(context.Background(), task.Future[task.Result[int]](recv))
		if r.Err != nil {
			fmt.Println(r.Err)
			return
		}
		fmt.Println(r.Value)
	}
	// Output:
	// 1
	// 2
	// 3
	// 4
	// 5
	// task: closed
}
