package task

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// probe is a future the test drives: pending until set, counting its polls
// and drops, and keeping the last waker it was polled with.
type probe[T any] struct {
	ready bool
	v     T
	polls int
	drops int
	waker Waker
	// onPoll, when set, is called at each poll (to record polling order).
	onPoll func()
}

func (p *probe[T]) Poll(cx *Context) (T, bool) {
	p.polls++
	p.waker = cx.Waker()
	if p.onPoll != nil {
		p.onPoll()
	}
	if p.ready {
		return p.v, true
	}
	var zero T
	return zero, false
}

func (p *probe[T]) Drop() { p.drops++ }

func (p *probe[T]) set(v T) { p.v, p.ready = v, true }

func TestReadyIsReadyAndPendingNeverIs(t *testing.T) {
	hp := newHandPoller()
	v, ok := pollOnce(hp, Ready("x"))
	require.True(t, ok)
	require.Equal(t, "x", v)
	for range 3 {
		_, ok := pollOnce(hp, Pending[int]())
		require.False(t, ok)
	}
	require.Zero(t, hp.w.count(), "Pending wakes nobody")
}

func TestMapAppliesItsFunctionOnceWhenReady(t *testing.T) {
	hp := newHandPoller()
	p := &probe[int]{}
	calls := 0
	m := Map(Future[int](p), func(v int) string { calls++; return fmt.Sprint(v * 2) })
	_, ok := pollOnce(hp, m)
	require.False(t, ok)
	require.Zero(t, calls)
	p.set(21)
	v, ok := pollOnce(hp, m)
	require.True(t, ok)
	require.Equal(t, "42", v)
	require.Equal(t, 1, calls)
	Drop(m)
	require.Zero(t, p.drops, "a finished child is not dropped")
}

func TestMapDropDropsItsPendingChild(t *testing.T) {
	p := &probe[int]{}
	m := Map(Future[int](p), func(v int) int { return v })
	_, ok := pollOnce(newHandPoller(), m)
	require.False(t, ok)
	Drop(m)
	Drop(m)
	require.Equal(t, 1, p.drops, "dropped once, however often the combinator is")
}

func TestThenRunsTheSecondFutureInTheSamePoll(t *testing.T) {
	hp := newHandPoller()
	first := &probe[int]{}
	second := &probe[string]{}
	var got int
	f := Then(Future[int](first), func(v int) Future[string] { got = v; return second })
	_, ok := pollOnce(hp, f)
	require.False(t, ok)
	require.Zero(t, second.polls)

	first.set(7)
	second.set("done")
	v, ok := pollOnce(hp, f)
	require.True(t, ok)
	require.Equal(t, "done", v)
	require.Equal(t, 7, got)
	require.Equal(t, 1, second.polls, "polled in the poll that found the first ready")
	require.Equal(t, 2, first.polls)
}

func TestThenDropDropsOnlyTheLiveStage(t *testing.T) {
	first := &probe[int]{}
	second := &probe[int]{}
	f := Then(Future[int](first), func(int) Future[int] { return second })
	pollOnce(newHandPoller(), f)
	Drop(f)
	require.Equal(t, 1, first.drops)

	first, second = &probe[int]{}, &probe[int]{}
	f = Then(Future[int](first), func(int) Future[int] { return second })
	first.set(1)
	_, ok := pollOnce(newHandPoller(), f)
	require.False(t, ok, "second stage pending")
	Drop(f)
	require.Zero(t, first.drops, "the first stage finished")
	require.Equal(t, 1, second.drops)
}

func TestThenWithNilFuturePanicsWithAMessage(t *testing.T) {
	f := Then(Ready(1), func(int) Future[int] { return nil })
	require.PanicsWithValue(t, "task: the function passed to Then returned a nil Future", func() {
		pollOnce(newHandPoller(), f)
	})
}

func TestJoin2WaitsForBothAndPollsOnlyThePendingOne(t *testing.T) {
	hp := newHandPoller()
	a := &probe[int]{}
	b := &probe[string]{}
	j := Join2(Future[int](a), Future[string](b))
	a.set(1)
	_, ok := pollOnce(hp, j)
	require.False(t, ok)
	_, ok = pollOnce(hp, j)
	require.False(t, ok)
	require.Equal(t, 1, a.polls, "a ready future is not polled again")
	require.Equal(t, 2, b.polls)
	b.set("b")
	v, ok := pollOnce(hp, j)
	require.True(t, ok)
	require.Equal(t, Pair[int, string]{First: 1, Second: "b"}, v)
}

func TestJoin2DropDropsTheUnfinished(t *testing.T) {
	a := &probe[int]{}
	b := &probe[int]{}
	j := Join2(Future[int](a), Future[int](b))
	b.set(2)
	pollOnce(newHandPoller(), j)
	Drop(j)
	require.Equal(t, 1, a.drops)
	require.Zero(t, b.drops)
}

func TestJoinAllGivesValuesInInputOrder(t *testing.T) {
	hp := newHandPoller()
	ps := []*probe[int]{{}, {}, {}, {}}
	fs := make([]Future[int], len(ps))
	for i, p := range ps {
		fs[i] = p
	}
	j := JoinAll(fs...)
	// Finish them in reverse order, one per poll.
	for i := len(ps) - 1; i >= 0; i-- {
		_, ok := pollOnce(hp, j)
		require.False(t, ok)
		ps[i].set(i * 10)
	}
	v, ok := pollOnce(hp, j)
	require.True(t, ok)
	require.Equal(t, []int{0, 10, 20, 30}, v)
	for i, p := range ps {
		// ps[i] became ready before poll number len-i+1 and was polled
		// each time until then, and never after.
		require.Equal(t, len(ps)-i+1, p.polls, "probe %d", i)
	}
}

func TestJoinAllOfNothingIsReady(t *testing.T) {
	v, ok := pollOnce(newHandPoller(), JoinAll[int]())
	require.True(t, ok)
	require.Empty(t, v)
}

func TestJoinAllDropDropsTheUnfinished(t *testing.T) {
	a, b, c := &probe[int]{}, &probe[int]{}, &probe[int]{}
	j := JoinAll[int](a, b, c)
	b.set(1)
	pollOnce(newHandPoller(), j)
	Drop(j)
	require.Equal(t, []int{1, 0, 1}, []int{a.drops, b.drops, c.drops})
}

func TestSelectGivesTheReadyOneAndDropsTheLosers(t *testing.T) {
	hp := newHandPoller()
	a, b, c := &probe[string]{}, &probe[string]{}, &probe[string]{}
	s := Select[string](a, b, c)
	_, ok := pollOnce(hp, s)
	require.False(t, ok)
	b.set("b")
	v, ok := pollOnce(hp, s)
	require.True(t, ok)
	require.Equal(t, Selected[string]{Index: 1, Value: "b"}, v)
	require.Equal(t, []int{1, 0, 1}, []int{a.drops, b.drops, c.drops})
	Drop(s)
	require.Equal(t, []int{1, 0, 1}, []int{a.drops, b.drops, c.drops}, "nothing is dropped twice")
}

func TestSelectDropDropsEveryBranch(t *testing.T) {
	a, b := &probe[int]{}, &probe[int]{}
	s := Select[int](a, b)
	pollOnce(newHandPoller(), s)
	Drop(s)
	require.Equal(t, []int{1, 1}, []int{a.drops, b.drops})
}

func TestSelectStartsEachPollOneFurther(t *testing.T) {
	hp := newHandPoller()
	var order []int
	ps := make([]Future[int], 3)
	for i := range ps {
		ps[i] = &probe[int]{onPoll: func() { order = append(order, i) }}
	}
	s := Select(ps...)
	var firsts []int
	for range 6 {
		order = order[:0]
		_, ok := pollOnce(hp, s)
		require.False(t, ok)
		require.Len(t, order, 3, "every branch is polled each time")
		firsts = append(firsts, order[0])
	}
	for k := 1; k < len(firsts); k++ {
		require.Equal(t, (firsts[k-1]+1)%3, firsts[k], "first polled: %v", firsts)
	}
}

func TestSelectDoesNotStarveTheSecondOfTwoReadyFutures(t *testing.T) {
	hp := newHandPoller()
	wins := [2]int{}
	const rounds = 1000
	for range rounds {
		v, ok := pollOnce(hp, Select(Ready(0), Ready(1)))
		require.True(t, ok)
		wins[v.Index]++
	}
	// A fair coin lands this far from 500 far less than once in 10^20 runs.
	require.Greater(t, wins[0], rounds/4, "wins %v", wins)
	require.Greater(t, wins[1], rounds/4, "wins %v", wins)
}

func TestSelectOfNothingIsNeverReady(t *testing.T) {
	_, ok := pollOnce(newHandPoller(), Select[int]())
	require.False(t, ok)
}

func TestYieldWakesOnceThenIsReadyAndCanBeReused(t *testing.T) {
	hp := newHandPoller()
	var y Yield
	for round := 1; round <= 2; round++ {
		_, ok := pollOnce(hp, &y)
		require.False(t, ok)
		require.Equal(t, round, hp.w.count(), "woke itself")
		_, ok = pollOnce(hp, &y)
		require.True(t, ok)
	}
	_, ok := pollOnce(hp, YieldNow())
	require.False(t, ok)
}

func TestCombinatorsDoNotAllocatePerPoll(t *testing.T) {
	hp := newHandPoller()
	a, b, c := &probe[int]{}, &probe[int]{}, &probe[int]{}
	futures := map[string]Future[int]{
		"Map":  Map(Future[int](a), func(v int) int { return v }),
		"Then": Then(Future[int](a), func(v int) Future[int] { return b }),
		"Join2": Map(Join2(Future[int](a), Future[int](b)),
			func(Pair[int, int]) int { return 0 }),
		"JoinAll": Map(JoinAll[int](a, b, c), func([]int) int { return 0 }),
		"Select":  Map(Select[int](a, b, c), func(Selected[int]) int { return 0 }),
	}
	for name, f := range futures {
		allocs := testing.AllocsPerRun(100, func() {
			if _, ok := pollOnce(hp, f); ok {
				panic("ready")
			}
		})
		require.Zero(t, allocs, name)
	}
}

func TestJoinAllOfTaskHandlesOnTheExecutor(t *testing.T) {
	e := newChanExec(t, 2)
	var hs []Future[Result[int]]
	for i := range 20 {
		var y Yield
		hs = append(hs, execSpawn(e, Future[int](FutureFunc[int](func(cx *Context) (int, bool) {
			if _, ok := y.Poll(cx); !ok {
				return 0, false
			}
			return i * i, true
		}))))
	}
	sum := execSpawn(e, Map(JoinAll(hs...), func(rs []Result[int]) int {
		s := 0
		for _, r := range rs {
			if r.Err != nil {
				panic(r.Err)
			}
			s += r.Value
		}
		return s
	}))
	v, err := waitFor(t, sum)
	require.NoError(t, err)
	require.Equal(t, 2470, v) // 0² + 1² + ... + 19²
}
