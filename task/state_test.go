package task

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// One test per transition of the state word, from each starting state that
// matters.

func TestStateBitsAreDistinct(t *testing.T) {
	bits := []state{stRunning, stComplete, stNotified, stCancelled, stJoinInterest, stJoinWaker}
	var all state
	for _, b := range bits {
		require.Zero(t, all&b, "bit %b used twice", b)
		all |= b
	}
}

func TestToRunningFromQueued(t *testing.T) {
	w := newStateWord(stInitial)
	require.Equal(t, runOK, w.toRunning())
	s := w.load()
	require.True(t, s.isRunning())
	require.False(t, s.isNotified(), "taking the task consumes the ticket")
}

func TestToRunningCancelledWhileQueued(t *testing.T) {
	w := newStateWord(stInitial | stCancelled)
	require.Equal(t, runCancelled, w.toRunning())
	require.True(t, w.load().isRunning(), "the runner owns the future it must cancel")
}

func TestToRunningFailsWhenRunningOrComplete(t *testing.T) {
	for _, s := range []state{stNotified | stRunning, stNotified | stComplete, stComplete} {
		w := newStateWord(s)
		require.Equal(t, runFailed, w.toRunning(), "from %b", s)
		require.Equal(t, s, w.load(), "a failed transition changes nothing")
	}
}

func TestToIdle(t *testing.T) {
	w := newStateWord(stRunning | stJoinInterest)
	require.Equal(t, idleOK, w.toIdle())
	require.Equal(t, stJoinInterest, w.load())
}

func TestToIdleNotifiedKeepsTheTicket(t *testing.T) {
	w := newStateWord(stRunning | stNotified)
	require.Equal(t, idleNotified, w.toIdle())
	require.Equal(t, stNotified, w.load(), "the runner requeues it: notified stays, running goes")
}

func TestToIdleCancelledKeepsOwnership(t *testing.T) {
	w := newStateWord(stRunning | stNotified | stCancelled)
	require.Equal(t, idleCancelled, w.toIdle())
	require.True(t, w.load().isRunning())
}

func TestToComplete(t *testing.T) {
	w := newStateWord(stRunning | stNotified | stJoinInterest | stJoinWaker)
	s := w.toComplete()
	require.Equal(t, stComplete|stJoinInterest|stJoinWaker, s)
	require.Equal(t, s, w.load())
}

func TestWakeIdleSubmits(t *testing.T) {
	w := newStateWord(stJoinInterest)
	require.True(t, w.toNotified(0))
	require.True(t, w.load().isNotified())
}

func TestWakeWhileRunningOnlyMarks(t *testing.T) {
	w := newStateWord(stRunning)
	require.False(t, w.toNotified(0))
	require.Equal(t, stRunning|stNotified, w.load())
}

func TestWakeWhileQueuedOrCompleteDoesNothing(t *testing.T) {
	for _, s := range []state{stNotified, stComplete, stRunning | stNotified} {
		w := newStateWord(s)
		require.False(t, w.toNotified(0), "from %b", s)
		require.Equal(t, s, w.load())
	}
}

func TestAbortIdleSubmits(t *testing.T) {
	w := newStateWord(stJoinInterest)
	require.True(t, w.toNotifiedAndCancelled())
	require.Equal(t, stJoinInterest|stNotified|stCancelled, w.load())
}

func TestAbortRunningMarks(t *testing.T) {
	w := newStateWord(stRunning)
	require.False(t, w.toNotifiedAndCancelled())
	require.Equal(t, stRunning|stNotified|stCancelled, w.load())
}

func TestAbortQueuedMarksOnly(t *testing.T) {
	w := newStateWord(stNotified)
	require.False(t, w.toNotifiedAndCancelled())
	require.Equal(t, stNotified|stCancelled, w.load())
}

func TestAbortCompleteOrCancelledDoesNothing(t *testing.T) {
	for _, s := range []state{stComplete, stCancelled | stNotified} {
		w := newStateWord(s)
		require.False(t, w.toNotifiedAndCancelled())
		require.Equal(t, s, w.load())
	}
}

func TestShutdownIdleTakesOwnership(t *testing.T) {
	for _, s := range []state{0, stNotified} {
		w := newStateWord(s)
		require.True(t, w.toShutdown(), "from %b", s)
		require.Equal(t, s|stRunning|stCancelled, w.load())
	}
}

func TestShutdownRunningOrCompleteOnlyMarks(t *testing.T) {
	for _, s := range []state{stRunning, stComplete} {
		w := newStateWord(s)
		require.False(t, w.toShutdown(), "from %b", s)
		require.Equal(t, s|stCancelled, w.load())
	}
}

func TestDropJoinInterest(t *testing.T) {
	w := newStateWord(stJoinInterest | stJoinWaker)
	require.False(t, w.dropJoinInterest())
	require.Equal(t, state(0), w.load())
	w = newStateWord(stComplete | stJoinInterest)
	require.True(t, w.dropJoinInterest())
}

func TestSetJoinWaker(t *testing.T) {
	w := newStateWord(stJoinInterest)
	require.True(t, w.setJoinWaker())
	require.True(t, w.load().hasJoinWaker())
	w = newStateWord(stJoinInterest | stComplete)
	require.False(t, w.setJoinWaker(), "complete: read the result instead")
	require.False(t, w.load().hasJoinWaker())
}

func TestUnsetJoinWaker(t *testing.T) {
	w := newStateWord(stJoinInterest | stJoinWaker)
	require.True(t, w.unsetJoinWaker())
	require.False(t, w.load().hasJoinWaker())
	w = newStateWord(stJoinInterest | stJoinWaker | stComplete)
	require.False(t, w.unsetJoinWaker(), "complete: the field is the task's")
	require.True(t, w.load().hasJoinWaker())
}
