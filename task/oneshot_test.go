package task

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOneshotSendThenReceive(t *testing.T) {
	tx, rx := NewOneshot[string]()
	require.NoError(t, tx.Send("hello"))
	r, ok := pollOnce(newHandPoller(), Future[Result[string]](rx))
	require.True(t, ok)
	require.Equal(t, Result[string]{Value: "hello"}, r)
	r, ok = pollOnce(newHandPoller(), Future[Result[string]](rx))
	require.True(t, ok)
	require.ErrorIs(t, r.Err, ErrClosed, "the value is received once")
}

func TestOneshotSendWakesTheWaitingReceiver(t *testing.T) {
	tx, rx := NewOneshot[int]()
	hp := newHandPoller()
	_, ok := pollOnce(hp, Future[Result[int]](rx))
	require.False(t, ok)
	_, ok = pollOnce(hp, Future[Result[int]](rx))
	require.False(t, ok, "polled again with the same waker")
	require.Zero(t, hp.w.count())
	require.NoError(t, tx.Send(5))
	require.Equal(t, 1, hp.w.count())
	r, ok := pollOnce(hp, Future[Result[int]](rx))
	require.True(t, ok)
	require.Equal(t, 5, r.Value)
}

func TestOneshotWakesTheWakerOfTheLatestPoll(t *testing.T) {
	tx, rx := NewOneshot[int]()
	first, second := newHandPoller(), newHandPoller()
	pollOnce(first, Future[Result[int]](rx))
	pollOnce(second, Future[Result[int]](rx))
	require.NoError(t, tx.Send(1))
	require.Zero(t, first.w.count())
	require.Equal(t, 1, second.w.count())
}

func TestOneshotSenderCloseEndsTheReceiverWithErrClosed(t *testing.T) {
	tx, rx := NewOneshot[int]()
	hp := newHandPoller()
	pollOnce(hp, Future[Result[int]](rx))
	tx.Close()
	require.Equal(t, 1, hp.w.count())
	r, ok := pollOnce(hp, Future[Result[int]](rx))
	require.True(t, ok)
	require.ErrorIs(t, r.Err, ErrClosed)
	require.ErrorIs(t, tx.Send(1), ErrClosed, "no send after Close")
}

func TestOneshotSendsOnlyOnce(t *testing.T) {
	tx, rx := NewOneshot[int]()
	require.False(t, tx.IsClosed())
	require.NoError(t, tx.Send(1))
	require.True(t, tx.IsClosed())
	require.ErrorIs(t, tx.Send(2), ErrClosed)
	tx.Close() // after a send: nothing
	v, err := rx.TryRecv()
	require.NoError(t, err)
	require.Equal(t, 1, v)
}

func TestOneshotReceiverCloseFailsTheSend(t *testing.T) {
	tx, rx := NewOneshot[int]()
	rx.Close()
	require.True(t, tx.IsClosed())
	require.ErrorIs(t, tx.Send(1), ErrClosed)
	r, ok := pollOnce(newHandPoller(), Future[Result[int]](rx))
	require.True(t, ok)
	require.ErrorIs(t, r.Err, ErrClosed)
}

func TestOneshotValueSentBeforeReceiverCloseIsStillReceived(t *testing.T) {
	tx, rx := NewOneshot[int]()
	require.NoError(t, tx.Send(9))
	rx.Close()
	v, err := rx.TryRecv()
	require.NoError(t, err)
	require.Equal(t, 9, v)
}

func TestOneshotTryRecv(t *testing.T) {
	tx, rx := NewOneshot[int]()
	_, err := rx.TryRecv()
	require.ErrorIs(t, err, ErrEmpty)
	require.NoError(t, tx.Send(3))
	v, err := rx.TryRecv()
	require.NoError(t, err)
	require.Equal(t, 3, v)
	_, err = rx.TryRecv()
	require.ErrorIs(t, err, ErrClosed)
}

func TestOneshotDroppedReceiverClosesIt(t *testing.T) {
	tx, rx := NewOneshot[int]()
	Drop(Future[Result[int]](rx))
	require.ErrorIs(t, tx.Send(1), ErrClosed)
}

func TestOneshotReceiveWithNoBudgetLeftWaitsAndKeepsTheValue(t *testing.T) {
	tx, rx := NewOneshot[int]()
	require.NoError(t, tx.Send(4))
	hp := newHandPoller()
	hp.cx.budget = 0
	_, ok := rx.Poll(hp.cx)
	require.False(t, ok)
	require.Equal(t, 1, hp.w.count(), "the spent budget woke the task")
	r, ok := pollOnce(hp, Future[Result[int]](rx))
	require.True(t, ok)
	require.Equal(t, 4, r.Value)
}

// oneshotSink makes the oneshots of TestOneshotIsOneAllocation escape, as
// they do when a task and a goroutine share them.
var oneshotSink *OneshotReceiver[int]

func TestOneshotIsOneAllocation(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		tx, rx := NewOneshot[int]()
		_ = tx.Send(1)
		_, _ = rx.TryRecv()
		oneshotSink = rx
	})
	require.Equal(t, 1.0, allocs)
}

func TestOneshotAcrossGoroutinesDeliversEveryValue(t *testing.T) {
	e := newChanExec(t, 2)
	const n = 500
	var hs []*JoinHandle[Result[int]]
	for i := range n {
		tx, rx := NewOneshot[int]()
		hs = append(hs, execSpawn(e, Future[Result[int]](rx)))
		go func() { _ = tx.Send(i) }()
	}
	for i, h := range hs {
		r, err := waitFor(t, h)
		require.NoError(t, err)
		require.Equal(t, Result[int]{Value: i}, r)
	}
}

func TestOneshotRacingSendersExactlyOneWins(t *testing.T) {
	for range 200 {
		tx, rx := NewOneshot[int]()
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tx.Send(i) == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), wins.Load())
		_, err := rx.TryRecv()
		require.NoError(t, err)
	}
}

func TestOneshotSendRacingReceiverCloseNeverLosesAnAcceptedValue(t *testing.T) {
	for range 1000 {
		tx, rx := NewOneshot[int]()
		var sendErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); sendErr = tx.Send(7) }()
		go func() { defer wg.Done(); rx.Close() }()
		wg.Wait()
		v, err := rx.TryRecv()
		if sendErr == nil {
			require.NoError(t, err, "Send succeeded, so the value must be there")
			require.Equal(t, 7, v)
		} else {
			require.ErrorIs(t, sendErr, ErrClosed)
			require.ErrorIs(t, err, ErrClosed)
		}
	}
}

func TestOneshotSendRacingAWaitingReceiverAlwaysWakesIt(t *testing.T) {
	// The receiver waits in a task; the send comes from another goroutine
	// at any moment of the receiver's poll. A lost wake hangs waitFor.
	e := newChanExec(t, 2)
	for i := range 2000 {
		tx, rx := NewOneshot[int]()
		h := execSpawn(e, Future[Result[int]](rx))
		go func() { _ = tx.Send(i) }()
		r, err := waitFor(t, h)
		require.NoError(t, err)
		require.Equal(t, i, r.Value)
	}
}
