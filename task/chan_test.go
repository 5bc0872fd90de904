package task

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChanBuffersUpToItsCapacityInOrder(t *testing.T) {
	tx, rx := NewChan[int](3)
	for i := range 3 {
		require.NoError(t, tx.TrySend(i))
	}
	require.ErrorIs(t, tx.TrySend(3), ErrFull)
	require.Equal(t, 3, rx.Len())
	for i := range 3 {
		v, err := rx.TryRecv()
		require.NoError(t, err)
		require.Equal(t, i, v)
	}
	_, err := rx.TryRecv()
	require.ErrorIs(t, err, ErrEmpty)
}

func TestChanCapacityBelowOneBuffersOne(t *testing.T) {
	for _, c := range []int{0, -5} {
		tx, rx := NewChan[int](c)
		require.NoError(t, tx.TrySend(1))
		require.ErrorIs(t, tx.TrySend(2), ErrFull, "capacity %d holds one value", c)
		v, err := rx.TryRecv()
		require.NoError(t, err)
		require.Equal(t, 1, v)
	}
}

func TestChanRecvWaitsAndASendWakesIt(t *testing.T) {
	tx, rx := NewChan[int](1)
	hp := newHandPoller()
	recv := rx.Recv()
	_, ok := pollOnce(hp, recv)
	require.False(t, ok)
	require.NoError(t, tx.TrySend(8))
	require.Equal(t, 1, hp.w.count())
	r, ok := pollOnce(hp, recv)
	require.True(t, ok)
	require.Equal(t, Result[int]{Value: 8}, r)
}

func TestChanSendWaitsWhenFullAndCompletesWhenRoomIsMade(t *testing.T) {
	tx, rx := NewChan[string](1)
	require.NoError(t, tx.TrySend("a"))
	p1, p2 := newHandPoller(), newHandPoller()
	s1, s2 := tx.Send("b"), tx.Send("c")
	_, ok := pollOnce(p1, s1)
	require.False(t, ok)
	_, ok = pollOnce(p2, s2)
	require.False(t, ok)
	require.ErrorIs(t, tx.TrySend("x"), ErrFull, "no overtaking the waiting senders")

	v, err := rx.TryRecv()
	require.NoError(t, err)
	require.Equal(t, "a", v)
	require.Equal(t, 1, p1.w.count(), "the first waiting sender got the slot")
	require.Zero(t, p2.w.count())
	require.Equal(t, 1, rx.Len(), "its value is in the buffer already")
	err, ok = pollOnce(p1, s1)
	require.True(t, ok)
	require.NoError(t, err)

	v, _ = rx.TryRecv()
	require.Equal(t, "b", v)
	require.Equal(t, 1, p2.w.count())
	v, _ = rx.TryRecv()
	require.Equal(t, "c", v)
	err, ok = pollOnce(p2, s2)
	require.True(t, ok)
	require.NoError(t, err)
}

func TestChanDroppedWaitingSendIsWithdrawn(t *testing.T) {
	tx, rx := NewChan[int](1)
	require.NoError(t, tx.TrySend(1))
	s2, s3 := tx.Send(2), tx.Send(3)
	hp := newHandPoller()
	pollOnce(hp, s2)
	pollOnce(hp, s3)
	Drop(Future[error](s2))
	var got []int
	for range 2 {
		v, err := rx.TryRecv()
		require.NoError(t, err)
		got = append(got, v)
	}
	require.Equal(t, []int{1, 3}, got)
	_, err := rx.TryRecv()
	require.ErrorIs(t, err, ErrEmpty)
}

func TestChanCloseFailsWaitingSendersAndDrainsToErrClosed(t *testing.T) {
	tx, rx := NewChan[int](2)
	require.NoError(t, tx.TrySend(1))
	require.NoError(t, tx.TrySend(2))
	hp := newHandPoller()
	waiting := tx.Send(3)
	pollOnce(hp, waiting)

	tx.Close()
	tx.Close()
	require.True(t, tx.IsClosed())
	require.Equal(t, 1, hp.w.count(), "the waiting sender was woken")
	err, ok := pollOnce(hp, waiting)
	require.True(t, ok)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, tx.TrySend(4), ErrClosed)
	err, ok = pollOnce(hp, tx.Send(5))
	require.True(t, ok)
	require.ErrorIs(t, err, ErrClosed)

	recv := rx.Recv()
	for want := 1; want <= 2; want++ {
		r, ok := pollOnce(hp, recv)
		require.True(t, ok)
		require.Equal(t, Result[int]{Value: want}, r)
	}
	r, ok := pollOnce(hp, recv)
	require.True(t, ok)
	require.ErrorIs(t, r.Err, ErrClosed)
	_, err = rx.TryRecv()
	require.ErrorIs(t, err, ErrClosed)
}

func TestChanCloseWakesTheWaitingReceiver(t *testing.T) {
	_, rx := NewChan[int](1)
	hp := newHandPoller()
	pollOnce(hp, rx.Recv())
	rx.Close()
	require.Equal(t, 1, hp.w.count())
	r, ok := pollOnce(hp, rx.Recv())
	require.True(t, ok)
	require.ErrorIs(t, r.Err, ErrClosed)
}

func TestChanCloseWakesManyWaitingSenders(t *testing.T) {
	tx, _ := NewChan[int](1)
	require.NoError(t, tx.TrySend(0))
	hp := newHandPoller()
	var sends []*SendFuture[int]
	for i := range 3 * wakeBatchSize {
		s := tx.Send(i)
		pollOnce(hp, s)
		sends = append(sends, s)
	}
	tx.Close()
	require.Equal(t, len(sends), hp.w.count())
	for _, s := range sends {
		err, ok := pollOnce(hp, s)
		require.True(t, ok)
		require.ErrorIs(t, err, ErrClosed)
	}
}

func TestChanRecvWithNoBudgetLeftWaitsAndKeepsTheValue(t *testing.T) {
	tx, rx := NewChan[int](1)
	require.NoError(t, tx.TrySend(6))
	hp := newHandPoller()
	hp.cx.budget = 0
	_, ok := rx.Recv().Poll(hp.cx)
	require.False(t, ok)
	require.Equal(t, 1, hp.w.count())
	require.Equal(t, 1, rx.Len())
	r, ok := pollOnce(hp, rx.Recv())
	require.True(t, ok)
	require.Equal(t, 6, r.Value)
}

func TestChanReusedFuturesDoNotAllocate(t *testing.T) {
	tx, rx := NewChan[int](1)
	hp := newHandPoller()
	send := tx.Send(0)
	var recv Future[Result[int]] = rx.Recv()
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		send.Reset(i)
		if _, ok := pollOnce(hp, send); !ok {
			panic("send waited")
		}
		// The buffer is full: this send waits, and the receive hands its
		// value over (the slow path).
		send.Reset(-i)
		if _, ok := pollOnce(hp, send); ok {
			panic("send did not wait")
		}
		if r, ok := pollOnce(hp, recv); !ok || r.Value != i {
			panic("recv")
		}
		if _, ok := pollOnce(hp, send); !ok {
			panic("send not completed by the receive")
		}
		if r, ok := pollOnce(hp, recv); !ok || r.Value != -i {
			panic("recv")
		}
		// The empty channel: the receive waits.
		if _, ok := pollOnce(hp, recv); ok {
			panic("recv did not wait")
		}
	})
	require.Zero(t, allocs)
}

func TestChanManyProducerGoroutinesOneConsumerTask(t *testing.T) {
	const producers, perProducer = 8, 10_000
	e := newChanExec(t, 2)
	tx, rx := NewChan[int](16)

	// The consumer is a hand-written future: one RecvFuture, no allocation
	// per value.
	seen := make([]int, producers)
	recv := rx.Recv()
	var order error
	consumer := execSpawn(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
		for {
			r, ok := recv.Poll(cx)
			if !ok {
				return 0, false
			}
			if r.Err != nil {
				total := 0
				for _, n := range seen {
					total += n
				}
				return total, true
			}
			p, seq := r.Value/perProducer, r.Value%perProducer
			if seq != seen[p] && order == nil {
				order = fmt.Errorf("producer %d: got its value %d, want %d", p, seq, seen[p])
			}
			seen[p]++
		}
	})))

	var wg sync.WaitGroup
	errs := make([]error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send := tx.Send(0)
			for i := range perProducer {
				send.Reset(p*perProducer + i)
				if err, berr := blockFor(Future[error](send)); err != nil || berr != nil {
					errs[p] = firstErr(err, berr)
					return
				}
			}
		}()
	}
	wg.Wait()
	tx.Close()
	for _, err := range errs {
		require.NoError(t, err)
	}
	total, err := waitFor(t, consumer)
	require.NoError(t, err)
	require.NoError(t, order, "each producer's values arrive in the order it sent them")
	require.Equal(t, producers*perProducer, total)
	for p, n := range seen {
		require.Equal(t, perProducer, n, "producer %d", p)
	}
}

func TestChanProducerTasksAndGoroutinesTogether(t *testing.T) {
	// Producers that are tasks wait for room by suspending on the same
	// executor as the consumer; a lost wake in either direction hangs.
	const producers, perProducer = 6, 2_000
	e := newChanExec(t, 2)
	tx, rx := NewChan[int](4)
	var wg sync.WaitGroup
	var hs []*JoinHandle[int]
	for p := range producers {
		if p%2 == 0 {
			send := tx.Send(0)
			i := 0
			started := false
			hs = append(hs, execSpawn(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
				for i < perProducer {
					if !started {
						send.Reset(p*perProducer + i)
						started = true
					}
					err, ok := send.Poll(cx)
					if !ok {
						return 0, false
					}
					if err != nil {
						panic(err)
					}
					started = false
					i++
				}
				return i, true
			}))))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				if err, berr := blockFor(Future[error](tx.Send(p*perProducer + i))); err != nil || berr != nil {
					panic(firstErr(err, berr))
				}
			}
		}()
	}
	count := make([]int, producers*perProducer)
	consumer := execSpawn(e, Coroutine(func(co *Co) int {
		n := 0
		for {
			r := Await(co, rx.Recv())
			if r.Err != nil {
				return n
			}
			count[r.Value]++
			n++
		}
	}))
	for _, h := range hs {
		_, err := waitFor(t, h)
		require.NoError(t, err)
	}
	wg.Wait()
	tx.Close()
	n, err := waitFor(t, consumer)
	require.NoError(t, err)
	require.Equal(t, producers*perProducer, n)
	for v, c := range count {
		if c != 1 {
			t.Fatalf("value %d received %d times", v, c)
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
