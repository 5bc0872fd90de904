//go:build unix

package runtime_test

import (
	"testing"

	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// pollSignal signals a channel on every poll and waits to be woken again.
type pollSignal struct {
	polled chan task.Waker
}

func (p *pollSignal) Poll(cx *task.Context) (int, bool) {
	p.polled <- cx.Waker()
	return 0, false
}

func TestWakeAndPollDoNotAllocate(t *testing.T) {
	rt := newRuntime(t)
	p := &pollSignal{polled: make(chan task.Waker, 1)}
	h := runtime.Spawn(rt, task.Future[int](p))
	w := <-p.polled
	allocs := testing.AllocsPerRun(2000, func() {
		w.Wake()
		<-p.polled
	})
	require.Zero(t, allocs, "a wake from outside, the worker's unpark, the poll and the park")
	h.Abort()
	_, err := h.Wait()
	require.ErrorIs(t, err, task.ErrAborted)
}
