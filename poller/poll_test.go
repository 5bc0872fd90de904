//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

func TestZeroTimeoutStillPolls(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable))
	write(t, b, "x")

	events := poller.NewEvents(8)
	// A zero timeout must still ask the kernel: the data is there, so the
	// event is there, on the first call.
	require.NoError(t, p.Poll(events, 0))
	require.Equal(t, 1, events.Len())
	require.Equal(t, poller.Token(1), events.At(0).Token())
	require.True(t, events.At(0).IsReadable())
}

func TestTimeoutWaitsTheWholeDuration(t *testing.T) {
	p := newPoll(t)
	events := poller.NewEvents(8)
	for _, d := range []time.Duration{10 * time.Millisecond, 25 * time.Millisecond} {
		start := time.Now()
		require.NoError(t, p.Poll(events, d))
		require.Zero(t, events.Len())
		require.GreaterOrEqual(t, time.Since(start), d)
	}
}

func TestSubMillisecondTimeoutRoundsUp(t *testing.T) {
	p := newPoll(t)
	events := poller.NewEvents(8)
	// Rounded down, a 1ns timeout would be a zero-timeout busy loop; rounded
	// up, each call sleeps a millisecond.
	const calls = 20
	start := time.Now()
	for range calls {
		require.NoError(t, p.Poll(events, time.Nanosecond))
		require.Zero(t, events.Len())
	}
	require.GreaterOrEqual(t, time.Since(start), calls*time.Millisecond)
}

// Go preempts long-running goroutines with SIGURG, which interrupts
// epoll_wait with EINTR. The poll must wait out its timeout regardless.
func TestTimeoutSurvivesPreemptionSignals(t *testing.T) {
	p := newPoll(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range 1 << 20 {
					x += i
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	events := poller.NewEvents(8)
	start := time.Now()
	require.NoError(t, p.Poll(events, 300*time.Millisecond))
	elapsed := time.Since(start)
	require.Zero(t, events.Len())
	require.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
	require.Less(t, elapsed, 5*time.Second, "the poll overslept")
}

func TestNegativeTimeoutWaitsForAnEvent(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 7, poller.Readable))
	done := make(chan error, 1)
	events := poller.NewEvents(8)
	go func() { done <- p.Poll(events, -1) }()
	write(t, b, "ping")
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Equal(t, 1, events.Len())
		require.Equal(t, poller.Token(7), events.At(0).Token())
	case <-time.After(5 * time.Second):
		t.Fatal("Poll(-1) did not return after the source became ready")
	}
}

func TestRegisterFromAnotherGoroutineDuringPoll(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	write(t, b, "already here")
	done := make(chan error, 1)
	events := poller.NewEvents(8)
	started := make(chan struct{})
	go func() {
		close(started)
		done <- p.Poll(events, -1)
	}()
	<-started
	// Whether the poller is already in the kernel or not, the registration
	// must reach it: epoll and kqueue both report sources added mid-wait.
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 3, poller.Readable))
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Equal(t, poller.Token(3), events.At(0).Token())
	case <-time.After(5 * time.Second):
		t.Fatal("an fd registered during a Poll did not wake it")
	}
}

func TestReregisterReplacesTokenAndInterest(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	r := p.Registry()
	require.NoError(t, r.Register(poller.SourceFd(a), 1, poller.Readable))
	require.NoError(t, r.Reregister(poller.SourceFd(a), 2, poller.Writable))
	// Now only writable, under token 2.
	seen := expectEvents(t, p, writable(2))
	for _, ev := range seen {
		require.Equal(t, poller.Token(2), ev.Token())
	}
	write(t, b, "data")
	expectNoEvents(t, p)

	require.NoError(t, r.Reregister(poller.SourceFd(a), 3, poller.Readable))
	seen = expectEvents(t, p, readable(3))
	for _, ev := range seen {
		require.Equal(t, poller.Token(3), ev.Token())
	}
}

func TestNoEventsAfterDeregister(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	r := p.Registry()
	require.NoError(t, r.Register(poller.SourceFd(a), 1, poller.Readable))
	write(t, b, "one")
	require.NoError(t, r.Deregister(poller.SourceFd(a)))
	expectNoEvents(t, p)
	write(t, b, "two")
	expectNoEvents(t, p)
}

func TestEdgeRearmsAfterWouldBlock(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable))

	write(t, b, "first")
	expectEvents(t, p, readable(1))
	// Not drained: edge-triggered, so no second event for the same data.
	expectNoEvents(t, p)
	require.Equal(t, "first", drain(t, a))
	expectNoEvents(t, p)

	write(t, b, "second")
	expectEvents(t, p, readable(1))
	require.Equal(t, "second", drain(t, a))
}

func TestLevelRepeatsUntilDrained(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable|poller.Level))
	write(t, b, "x")
	for range 3 {
		expectEvents(t, p, readable(1))
	}
	drain(t, a)
	expectNoEvents(t, p)
}

func TestOneshotDisarmsUntilReregistered(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	r := p.Registry()
	require.NoError(t, r.Register(poller.SourceFd(a), 1, poller.Readable|poller.Oneshot))
	write(t, b, "x")
	expectEvents(t, p, readable(1))
	drain(t, a)
	write(t, b, "y")
	expectNoEvents(t, p)

	require.NoError(t, r.Reregister(poller.SourceFd(a), 2, poller.Readable|poller.Oneshot))
	expectEvents(t, p, readable(2))
	// A disarmed oneshot registration can still be deregistered.
	require.NoError(t, r.Deregister(poller.SourceFd(a)))
}

func TestEventsHoldAtMostCapPerCall(t *testing.T) {
	p := newPoll(t)
	const sources = 10
	for i := range sources {
		a, b := socketPair(t)
		require.NoError(t, p.Registry().Register(poller.SourceFd(a), poller.Token(i), poller.Readable))
		write(t, b, "x")
	}
	events := poller.NewEvents(4)
	require.Equal(t, 4, events.Cap())
	got := map[poller.Token]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < sources && time.Now().Before(deadline) {
		require.NoError(t, p.Poll(events, 100*time.Millisecond))
		require.LessOrEqual(t, events.Len(), 4)
		for ev := range events.All() {
			require.False(t, got[ev.Token()], "token %d delivered twice", ev.Token())
			got[ev.Token()] = true
		}
	}
	require.Len(t, got, sources)
}

func TestEventsAllStopsEarly(t *testing.T) {
	p := newPoll(t)
	for i := range 3 {
		a, b := socketPair(t)
		require.NoError(t, p.Registry().Register(poller.SourceFd(a), poller.Token(i), poller.Readable))
		write(t, b, "x")
	}
	events := poller.NewEvents(8)
	require.Eventually(t, func() bool {
		require.NoError(t, p.Poll(events, 10*time.Millisecond))
		return events.Len() >= 2
	}, 5*time.Second, time.Millisecond)
	n := 0
	for range events.All() {
		n++
		break
	}
	require.Equal(t, 1, n)
}

func TestCloseWakesEveryBlockedPoll(t *testing.T) {
	p, err := poller.New()
	require.NoError(t, err)
	const waiters = 3
	errs := make(chan error, waiters)
	for range waiters {
		go func() { errs <- p.Poll(poller.NewEvents(4), -1) }()
	}
	require.NoError(t, p.Close())
	for range waiters {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, poller.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("a Poll blocked without limit did not return after Close")
		}
	}
}

func TestConcurrentPollersEachEventOnce(t *testing.T) {
	p := newPoll(t)
	const sources = 50
	var writers []int
	for i := range sources {
		a, b := socketPair(t)
		require.NoError(t, p.Registry().Register(poller.SourceFd(a), poller.Token(i), poller.Readable))
		writers = append(writers, b)
	}
	var mu sync.Mutex
	got := map[poller.Token]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := poller.NewEvents(8)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := p.Poll(events, 20*time.Millisecond); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for ev := range events.All() {
					got[ev.Token()]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, w := range writers {
		write(t, w, "x")
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == sources
	}, 5*time.Second, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	for tok, n := range got {
		require.Equal(t, 1, n, "token %d: edge-triggered event delivered %d times", tok, n)
	}
}

func TestConcurrentRegistrationStress(t *testing.T) {
	p := newPoll(t)
	stop := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		events := poller.NewEvents(64)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := p.Poll(events, time.Millisecond); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.Registry()
			for i := range 200 {
				fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
				if err != nil {
					t.Error(err)
					return
				}
				_ = unix.SetNonblock(fds[0], true)
				_ = unix.SetNonblock(fds[1], true)
				tok := poller.Token(g*1000 + i)
				if err := r.Register(poller.SourceFd(fds[0]), tok, poller.Readable|poller.Writable); err != nil {
					t.Error(err)
				}
				_, _ = unix.Write(fds[1], []byte("x"))
				if err := r.Reregister(poller.SourceFd(fds[0]), tok+1, poller.Readable); err != nil {
					t.Error(err)
				}
				if err := r.Deregister(poller.SourceFd(fds[0])); err != nil {
					t.Error(err)
				}
				unix.Close(fds[0])
				unix.Close(fds[1])
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-pollDone
}

func TestMisuseGetsErrors(t *testing.T) {
	p := newPoll(t)
	r := p.Registry()
	a, _ := socketPair(t)
	src := poller.SourceFd(a)

	require.ErrorIs(t, r.Reregister(src, 1, poller.Readable), poller.ErrNotRegistered)
	require.ErrorIs(t, r.Deregister(src), poller.ErrNotRegistered)
	require.NoError(t, r.Register(src, 1, poller.Readable))
	require.ErrorIs(t, r.Register(src, 2, poller.Readable), poller.ErrAlreadyRegistered)
	require.NoError(t, r.Deregister(src))
	require.ErrorIs(t, r.Deregister(src), poller.ErrNotRegistered)

	require.ErrorIs(t, r.Register(poller.SourceFd(-1), 1, poller.Readable), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Reregister(poller.SourceFd(-1), 1, poller.Readable), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Deregister(poller.SourceFd(-1)), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Register(nil, 1, poller.Readable), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Reregister(nil, 1, poller.Readable), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Deregister(nil), poller.ErrInvalidSource)
	require.ErrorIs(t, r.Register(src, 1, 0), poller.ErrInvalidInterest)
	require.ErrorIs(t, r.Register(src, 1, poller.Level), poller.ErrInvalidInterest)

	// A closed descriptor: its number is free, so the kernel says EBADF.
	x, y := pipe(t)
	unix.Close(y)
	closedFd := y
	err := r.Register(poller.SourceFd(closedFd), 1, poller.Readable)
	require.ErrorIs(t, err, poller.ErrInvalidSource)
	require.ErrorIs(t, err, unix.EBADF)
	_ = x

	require.ErrorIs(t, p.Poll(poller.NewEvents(0), 0), poller.ErrNoCapacity)
	require.ErrorIs(t, p.Poll(nil, 0), poller.ErrNoCapacity)
	require.ErrorIs(t, r.Close(), poller.ErrNotCloned)
}

func TestClosedPollRefusesEverything(t *testing.T) {
	p, err := poller.New()
	require.NoError(t, err)
	r := p.Registry()
	a, _ := socketPair(t)
	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Close(), poller.ErrClosed)
	require.ErrorIs(t, p.Poll(poller.NewEvents(4), 0), poller.ErrClosed)
	require.ErrorIs(t, r.Register(poller.SourceFd(a), 1, poller.Readable), poller.ErrClosed)
	require.ErrorIs(t, r.Reregister(poller.SourceFd(a), 1, poller.Readable), poller.ErrClosed)
	require.ErrorIs(t, r.Deregister(poller.SourceFd(a)), poller.ErrClosed)
	_, err = r.TryClone()
	require.ErrorIs(t, err, poller.ErrClosed)
	_, err = poller.NewWaker(r, 1)
	require.ErrorIs(t, err, poller.ErrClosed)
}

func TestTryCloneRegistersForTheSamePoll(t *testing.T) {
	p := newPoll(t)
	clone, err := p.Registry().TryClone()
	require.NoError(t, err)
	a, b := socketPair(t)
	require.NoError(t, clone.Register(poller.SourceFd(a), 9, poller.Readable))
	// The clone and the original share one kernel queue: the original sees
	// the clone's registration as already there.
	require.ErrorIs(t, p.Registry().Register(poller.SourceFd(a), 9, poller.Readable), poller.ErrAlreadyRegistered)
	write(t, b, "x")
	expectEvents(t, p, readable(9))

	require.NoError(t, clone.Close())
	require.ErrorIs(t, clone.Close(), poller.ErrClosed)
	require.ErrorIs(t, clone.Deregister(poller.SourceFd(a)), poller.ErrClosed)
	// The Poll lives on.
	write(t, b, "y")
	expectEvents(t, p, readable(9))
	require.NoError(t, p.Registry().Deregister(poller.SourceFd(a)))
}

func TestFdHygieneOver2000Cycles(t *testing.T) {
	base := openFds(t)
	a, _ := socketPair(t)
	base += 2
	for range 2000 {
		p, err := poller.New()
		require.NoError(t, err)
		r := p.Registry()
		require.NoError(t, r.Register(poller.SourceFd(a), 1, poller.Readable))
		w, err := poller.NewWaker(r, 2)
		require.NoError(t, err)
		c, err := r.TryClone()
		require.NoError(t, err)
		require.NoError(t, w.Wake())
		require.NoError(t, c.Close())
		require.NoError(t, w.Close())
		require.NoError(t, r.Deregister(poller.SourceFd(a)))
		require.NoError(t, p.Close())
	}
	require.Equal(t, base, openFds(t))
}

func TestErrWouldBlockIsEAGAIN(t *testing.T) {
	require.ErrorIs(t, poller.ErrWouldBlock, unix.EAGAIN)
	var buf [1]byte
	r, _ := pipe(t)
	_, err := unix.Read(r, buf[:])
	require.True(t, errors.Is(err, poller.ErrWouldBlock))
}

func TestRegisterThenCloseThenPoll(t *testing.T) {
	p := newPoll(t)
	r, w := pipe(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(r), 1, poller.Readable))
	write(t, w, "x")
	unix.Close(r) // closed while registered: epoll forgets it
	expectNoEvents(t, p)
}

// recordingSource is a Source of the caller's own: the Registry must hand
// it exactly what it was given, and pass its errors back unchanged.
type recordingSource struct {
	calls []string
	err   error
}

func (s *recordingSource) Register(_ *poller.Registry, t poller.Token, i poller.Interest) error {
	s.calls = append(s.calls, fmt.Sprintf("register %d %v", t, i))
	return s.err
}

func (s *recordingSource) Reregister(_ *poller.Registry, t poller.Token, i poller.Interest) error {
	s.calls = append(s.calls, fmt.Sprintf("reregister %d %v", t, i))
	return s.err
}

func (s *recordingSource) Deregister(*poller.Registry) error {
	s.calls = append(s.calls, "deregister")
	return s.err
}

func TestRegistryForwardsToCustomSources(t *testing.T) {
	p := newPoll(t)
	r := p.Registry()
	src := &recordingSource{}
	require.NoError(t, r.Register(src, 0, poller.Readable))
	require.NoError(t, r.Reregister(src, 5, poller.Writable|poller.Level))
	require.NoError(t, r.Deregister(src))
	require.Equal(t, []string{"register 0 READABLE", "reregister 5 WRITABLE|LEVEL", "deregister"}, src.calls)

	boom := errors.New("boom")
	bad := &recordingSource{err: boom}
	require.ErrorIs(t, r.Register(bad, 0, poller.Readable), boom)
	require.ErrorIs(t, r.Reregister(bad, 0, poller.Readable), boom)
	require.ErrorIs(t, r.Deregister(bad), boom)
}

// mio's registry_operations_are_thread_safe: one cloned Registry shared by
// goroutines, each running register, deregister, register, reregister.
func TestClonedRegistryIsSafeAcrossGoroutines(t *testing.T) {
	p := newPoll(t)
	clone, err := p.Registry().TryClone()
	require.NoError(t, err)
	defer clone.Close()

	type flow struct {
		token        poller.Token
		first, final poller.Interest
		peerWrites   bool
	}
	flows := []flow{
		{1, poller.Readable, poller.Readable, true},
		{2, poller.Writable, poller.Writable | poller.Readable, false},
		{3, poller.Readable, poller.Readable | poller.Writable, false},
	}
	var wg sync.WaitGroup
	var want []readiness
	for _, f := range flows {
		a, b := socketPair(t)
		if f.peerWrites {
			write(t, b, "x")
			want = append(want, readable(f.token))
		} else {
			want = append(want, writable(f.token))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := poller.SourceFd(a)
			for _, step := range []func() error{
				func() error { return clone.Register(src, f.token, f.first) },
				func() error { return clone.Deregister(src) },
				func() error { return clone.Register(src, f.token, f.first) },
				func() error { return clone.Reregister(src, f.token, f.final) },
			} {
				if err := step(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	expectEvents(t, p, want...)
}

// The Sync Poll: while one goroutine is in the kernel, another's zero
// timeout returns at once with no events, and a positive one returns after
// its timeout, both without waiting for the first to leave.
func TestContendedPollHonoursItsTimeout(t *testing.T) {
	p := newPoll(t)
	w, err := poller.NewWaker(p.Registry(), 1)
	require.NoError(t, err)
	defer w.Close()
	first := make(chan error, 1)
	firstEvents := poller.NewEvents(4)
	go func() { first <- p.Poll(firstEvents, -1) }()
	require.Eventually(t, p.InPoll, 5*time.Second, time.Millisecond)
	events := poller.NewEvents(4)
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len(), "contended zero timeout: at once, no events")

	start := time.Now()
	require.NoError(t, p.Poll(events, 50*time.Millisecond))
	require.Zero(t, events.Len())
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	require.Len(t, first, 0, "the first poller is still waiting")

	require.NoError(t, w.Wake())
	require.NoError(t, <-first)
	require.Equal(t, poller.Token(1), firstEvents.At(0).Token())
}

// A waiter that gives up lets the next one in: the handover reaches a
// waiter still waiting.
func TestWaiterThatLeavesLetsTheNextIn(t *testing.T) {
	p := newPoll(t)
	_, set := newRegistration(t, p, 7, poller.Readable)
	holder := make(chan error, 1)
	go func() { holder <- p.Poll(poller.NewEvents(4), 200*time.Millisecond) }()
	require.Eventually(t, p.InPoll, 5*time.Second, time.Millisecond)

	leaver := make(chan error, 1)
	go func() { leaver <- p.Poll(poller.NewEvents(4), 20*time.Millisecond) }()
	stayer := make(chan error, 1)
	stayerEvents := poller.NewEvents(4)
	go func() { stayer <- p.Poll(stayerEvents, -1) }()
	require.NoError(t, <-leaver)
	require.NoError(t, <-holder)
	require.NoError(t, set.Set(poller.Readable))
	select {
	case err := <-stayer:
		require.NoError(t, err)
		require.Equal(t, poller.Token(7), stayerEvents.At(0).Token())
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter left behind never got the lock")
	}
}
