//go:build unix

package runtime

import (
	"testing"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

type countWaker struct{ n int }

func (c *countWaker) Wake() { c.n++ }

func TestClearAfterWouldBlockKeepsANewerEdge(t *testing.T) {
	var s scheduledIO
	s.reset(3)
	require.True(t, s.setReadiness(3, 7, readyReadable))
	cx := task.NewContext(task.Waker{})
	r, ok := s.pollReady(cx, poller.Readable, 3)
	require.True(t, ok)
	require.True(t, r.IsReadable())
	// The driver delivers a newer edge (tick 8) before the task clears
	// what it saw at tick 7.
	require.True(t, s.setReadiness(3, 8, readyReadable))
	s.clearReadiness(3, r)
	_, ok = s.pollReady(cx, poller.Readable, 3)
	require.True(t, ok, "the newer edge survives the stale clear")
	// A clear at the current tick does clear.
	r, _ = s.pollReady(cx, poller.Readable, 3)
	s.clearReadiness(3, r)
	_, ok = s.pollReady(cx, poller.Readable, 3)
	require.False(t, ok)
}

func TestClosedAndErrorReadinessIsNeverCleared(t *testing.T) {
	var s scheduledIO
	s.reset(0)
	s.setReadiness(0, 1, readyReadable|readyReadClosed)
	cx := task.NewContext(task.Waker{})
	r, ok := s.pollReady(cx, poller.Readable, 0)
	require.True(t, ok)
	s.clearReadiness(0, r)
	r, ok = s.pollReady(cx, poller.Readable, 0)
	require.True(t, ok)
	require.True(t, r.IsReadClosed())
	require.False(t, r.IsReadable())
}

func TestReadersAndWritersAreWokenSeparately(t *testing.T) {
	var s scheduledIO
	s.reset(0)
	rw, ww := &countWaker{}, &countWaker{}
	_, ok := s.pollReady(task.NewContext(task.NewWaker(rw)), poller.Readable, 0)
	require.False(t, ok)
	_, ok = s.pollReady(task.NewContext(task.NewWaker(ww)), poller.Writable, 0)
	require.False(t, ok)
	s.setReadiness(0, 1, readyWritable)
	s.wake(readyWritable)
	require.Equal(t, 0, rw.n)
	require.Equal(t, 1, ww.n)
	s.setReadiness(0, 2, readyReadable)
	s.wake(readyReadable)
	require.Equal(t, 1, rw.n)
	require.Equal(t, 1, ww.n, "a waker is taken when woken")
	// An error wakes both.
	_, _ = s.pollReady(task.NewContext(task.NewWaker(ww)), poller.Readable|poller.Writable, 0)
	s.reset(0)
	_, ok = s.pollReady(task.NewContext(task.NewWaker(rw)), poller.Readable, 0)
	require.False(t, ok)
	_, ok = s.pollReady(task.NewContext(task.NewWaker(ww)), poller.Writable, 0)
	require.False(t, ok)
	s.setReadiness(0, 3, readyError)
	s.wake(readyError)
	require.Equal(t, 2, rw.n)
	require.Equal(t, 2, ww.n)
}

func TestEventsForAnotherGenerationAreDropped(t *testing.T) {
	var s scheduledIO
	s.reset(5)
	require.False(t, s.setReadiness(4, 1, readyReadable), "an event for the slot's previous source")
	cx := task.NewContext(task.Waker{})
	_, ok := s.pollReady(cx, poller.Readable, 5)
	require.False(t, ok)
	r, ok := s.pollReady(cx, poller.Readable, 4)
	require.True(t, ok, "a handle of an older generation sees closed")
	require.True(t, r.IsClosed())
}

func TestShutdownWakesAndReportsClosed(t *testing.T) {
	var s scheduledIO
	s.reset(0)
	w := &countWaker{}
	_, ok := s.pollReady(task.NewContext(task.NewWaker(w)), poller.Readable, 0)
	require.False(t, ok)
	s.shutdown()
	require.Equal(t, 1, w.n)
	r, ok := s.pollReady(task.NewContext(task.Waker{}), poller.Readable, 0)
	require.True(t, ok)
	require.True(t, r.IsClosed())
	require.False(t, s.setReadiness(0, 9, readyReadable), "a closed slot takes no events")
}

func TestPollReadyAndClearDoNotAllocate(t *testing.T) {
	var s scheduledIO
	s.reset(0)
	cx := task.NewContext(task.NewWaker(&countWaker{}))
	var tick uint16
	allocs := testing.AllocsPerRun(1000, func() {
		tick++
		s.setReadiness(0, tick, readyReadable)
		s.wake(readyReadable)
		r, _ := s.pollReady(cx, poller.Readable, 0)
		s.clearReadiness(0, r)
		s.pollReady(cx, poller.Readable, 0)
	})
	require.Zero(t, allocs)
}

func TestSlabPagesAndReuse(t *testing.T) {
	for i, want := range [][2]uint32{{0, 0}, {31, 0}, {32, 1}, {95, 1}, {96, 2}, {223, 2}, {224, 3}} {
		p, off := pageOf(want[0])
		require.Equal(t, int(want[1]), p, "case %d", i)
		require.Less(t, off, uint32(firstPageSize<<p))
	}
	s := newSlab()
	seen := map[uint32]bool{}
	var idx []uint32
	for i := 0; i < 1000; i++ {
		j, gen, sio, err := s.alloc()
		require.NoError(t, err)
		require.NotZero(t, j, "index 0 is the driver's")
		require.Zero(t, gen)
		require.Same(t, sio, s.get(j))
		require.False(t, seen[j])
		seen[j] = true
		idx = append(idx, j)
	}
	require.Equal(t, 1000, s.Live())
	s.release(idx[10])
	j, gen, _, err := s.alloc()
	require.NoError(t, err)
	require.Equal(t, idx[10], j, "a released slot is reused")
	require.Equal(t, uint16(1), gen, "with the next generation")
	i2, g2 := slotOf(tokenOf(j, gen))
	require.Equal(t, j, i2)
	require.Equal(t, gen, g2)
	allocs := testing.AllocsPerRun(100, func() {
		j, _, _, _ := s.alloc()
		s.release(j)
	})
	require.Zero(t, allocs, "steady-state register/deregister reuses slots")
}
