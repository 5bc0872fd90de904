package queue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	readable = 1
	writable = 2
)

// set is SetReadiness for tests that only ask whether to enqueue.
func set(n *Node, ready uint8) (enqueue bool) {
	enqueue, _ = n.SetReadiness(ready)
	return enqueue
}

func TestStateFieldsAreMasked(t *testing.T) {
	var s State
	s = s.withReadiness(0xff)
	require.Equal(t, uint8(0xf), s.Readiness())
	require.Zero(t, s.Interest(), "readiness spilled into interest (mio's bug)")
	s = s.withInterest(0xff)
	require.Equal(t, uint8(0xf), s.Interest())
	require.False(t, s.IsLevel(), "interest spilled into the mode")
	s = s.withReadPos(7).withWritePos(7)
	require.Equal(t, 3, s.ReadPos())
	require.Equal(t, 3, s.WritePos())
	require.False(t, s.IsQueued(), "write pos spilled into queued")
}

func TestSetReadinessOfInterestEnqueuesOnce(t *testing.T) {
	var n Node
	require.False(t, n.Update(7, readable, false, false))
	require.True(t, set(&n, readable), "queued 0->1: the setter enqueues")
	require.True(t, n.Load().IsQueued())
	require.False(t, set(&n, readable|writable), "already queued: nothing more to do")
	require.Equal(t, uint8(readable|writable), n.Load().Readiness())
}

func TestSetReadinessNotOfInterestDoesNotEnqueue(t *testing.T) {
	var n Node
	n.Update(7, readable, false, false)
	require.False(t, set(&n, writable))
	require.False(t, n.Load().IsQueued())
	require.Equal(t, uint8(writable), n.Load().Readiness())
}

func TestSetSameReadinessAgainEnqueuesAgainAfterDequeue(t *testing.T) {
	var n Node
	n.Update(7, readable, false, false)
	require.True(t, set(&n, readable))
	ready, tok, requeue := n.Dequeued()
	require.Equal(t, uint8(readable), ready)
	require.Equal(t, uint64(7), tok)
	require.False(t, requeue)
	require.True(t, set(&n, readable), "same readiness, unqueued: a new event")
}

func TestSetBeforeRegisterSurfacesOnUpdate(t *testing.T) {
	var n Node
	require.False(t, set(&n, readable), "no interest yet")
	require.True(t, n.Update(3, readable, false, false), "interest now matches: enqueue")
	ready, tok, _ := n.Dequeued()
	require.Equal(t, uint8(readable), ready)
	require.Equal(t, uint64(3), tok)
}

func TestUpdateWritesAFreeTokenSlot(t *testing.T) {
	var n Node
	for tok := range uint64(10) {
		before := n.Load()
		n.Update(tok, readable, false, false)
		after := n.Load()
		require.NotEqual(t, before.ReadPos(), after.WritePos())
		require.NotEqual(t, before.WritePos(), after.WritePos())
		require.Equal(t, tok, n.tokens[after.WritePos()].Load())
	}
}

func TestDequeuedEdgeClearsQueued(t *testing.T) {
	var n Node
	n.Update(1, readable, false, false)
	set(&n, readable)
	_, _, requeue := n.Dequeued()
	require.False(t, requeue)
	require.False(t, n.Load().IsQueued())
	require.Equal(t, uint8(readable), n.Load().Readiness(), "readiness stays until Set changes it")
}

func TestDequeuedLevelRequeuesWhileReady(t *testing.T) {
	var n Node
	n.Update(1, readable, true, false)
	set(&n, readable)
	ready, _, requeue := n.Dequeued()
	require.Equal(t, uint8(readable), ready)
	require.True(t, requeue)
	require.True(t, n.Load().IsQueued())
	set(&n, 0)
	ready, _, requeue = n.Dequeued()
	require.Zero(t, ready)
	require.False(t, requeue)
	require.False(t, n.Load().IsQueued())
}

func TestDequeuedOneshotDisarms(t *testing.T) {
	var n Node
	n.Update(1, readable, false, true)
	set(&n, readable)
	ready, _, _ := n.Dequeued()
	require.Equal(t, uint8(readable), ready)
	require.Zero(t, n.Load().Interest())
	require.False(t, set(&n, readable), "disarmed until updated")
	require.True(t, n.Update(2, readable, false, true), "rearmed, still ready: enqueue")
}

func TestDequeuedReadsTheNewestToken(t *testing.T) {
	var n Node
	n.Update(1, readable, false, false)
	set(&n, readable)
	n.Update(2, readable, false, false) // queued already: no enqueue
	_, tok, _ := n.Dequeued()
	require.Equal(t, uint64(2), tok)
	require.Equal(t, n.Load().WritePos(), n.Load().ReadPos())
}

func TestDropStopsEverything(t *testing.T) {
	var n Node
	n.Update(1, readable, false, false)
	require.True(t, n.Drop())
	require.False(t, n.Drop())
	enqueue, dropped := n.SetReadiness(readable)
	require.False(t, enqueue)
	require.True(t, dropped, "SetReadiness reports the drop")
	require.False(t, n.Update(2, readable, false, false))
	ready, _, requeue := n.Dequeued()
	require.Zero(t, ready)
	require.False(t, requeue)
}

func TestReleaseClearsQueued(t *testing.T) {
	var n Node
	n.Update(1, readable, false, false)
	set(&n, readable)
	n.release()
	require.False(t, n.Load().IsQueued())
	require.True(t, set(&n, readable))
}
