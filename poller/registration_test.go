//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"

	"github.com/metalio/metal/poller"
)

func newRegistration(t testing.TB, p *poller.Poll, tok poller.Token, i poller.Interest) (*poller.Registration, *poller.SetReadiness) {
	t.Helper()
	r, s := poller.NewRegistration()
	require.NoError(t, p.Registry().Register(r, tok, i))
	return r, s
}

func TestRegistrationSmoke(t *testing.T) {
	p := newPoll(t)
	_, set := newRegistration(t, p, 0, poller.Readable)
	events := poller.NewEvents(128)
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len())

	require.NoError(t, set.Set(poller.Readable))
	require.NoError(t, p.Poll(events, 0))
	require.Equal(t, 1, events.Len())
	require.Equal(t, poller.Token(0), events.At(0).Token())
	require.True(t, events.At(0).IsReadable())
	require.Equal(t, poller.Readable, set.Get())

	// Edge: not again until set again, even to the same readiness.
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len())
	require.NoError(t, set.Set(poller.Readable))
	require.NoError(t, p.Poll(events, 0))
	require.Equal(t, 1, events.Len())
}

func TestSetWakesABlockedPoll(t *testing.T) {
	p := newPoll(t)
	_, set := newRegistration(t, p, 5, poller.Writable)
	done := make(chan error, 1)
	events := poller.NewEvents(8)
	go func() { done <- p.Poll(events, -1) }()
	require.NoError(t, set.Set(poller.Writable))
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Equal(t, 1, events.Len())
		require.True(t, events.At(0).IsWritable())
	case <-time.After(5 * time.Second):
		t.Fatal("Set did not wake the Poll")
	}
}

func TestSetBeforeRegisterSurfacesOnRegister(t *testing.T) {
	p := newPoll(t)
	events := poller.NewEvents(128)
	for range 5000 {
		r, set := poller.NewRegistration()
		var ready sync.WaitGroup
		ready.Add(1)
		go func() {
			defer ready.Done()
			if err := set.Set(poller.Readable); err != nil {
				t.Error(err)
			}
		}()
		ready.Wait()
		require.NoError(t, p.Registry().Register(r, 123, poller.Readable))
		require.NoError(t, p.Poll(events, -1))
		require.Equal(t, 1, events.Len())
		require.Equal(t, poller.Token(123), events.At(0).Token())
		require.NoError(t, r.Close())
	}
}

func TestUserEventsComeAfterKernelEventsWithinCap(t *testing.T) {
	p := newPoll(t)
	a, b := socketPair(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(a), 1, poller.Readable))
	write(t, b, "x")
	for i := range 5 {
		_, s := newRegistration(t, p, poller.Token(100+i), poller.Readable)
		require.NoError(t, s.Set(poller.Readable))
	}
	events := poller.NewEvents(3)
	require.NoError(t, p.Poll(events, time.Second))
	require.Equal(t, 3, events.Len())
	require.Equal(t, poller.Token(1), events.At(0).Token(), "kernel events first")
	seen := map[poller.Token]bool{}
	for ev := range events.All() {
		seen[ev.Token()] = true
	}
	for events.Len() > 0 {
		require.NoError(t, p.Poll(events, 0))
		for ev := range events.All() {
			require.False(t, seen[ev.Token()], "token %d twice", ev.Token())
			seen[ev.Token()] = true
		}
	}
	require.Len(t, seen, 6)
}

func TestRegistrationLevelRepeatsOncePerPoll(t *testing.T) {
	p := newPoll(t)
	_, set := newRegistration(t, p, 1, poller.Readable|poller.Level)
	_, other := newRegistration(t, p, 2, poller.Readable|poller.Level)
	require.NoError(t, set.Set(poller.Readable))
	require.NoError(t, other.Set(poller.Readable))
	events := poller.NewEvents(16)
	for range 3 {
		require.NoError(t, p.Poll(events, 0))
		require.Equal(t, 2, events.Len(), "each ready level node once per Poll")
	}
	require.NoError(t, set.Set(0))
	require.NoError(t, other.Set(0))
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len())
}

func TestRegistrationOneshotDisarms(t *testing.T) {
	p := newPoll(t)
	r, set := newRegistration(t, p, 1, poller.Readable|poller.Oneshot)
	require.NoError(t, set.Set(poller.Readable))
	events := poller.NewEvents(16)
	require.NoError(t, p.Poll(events, 0))
	require.Equal(t, 1, events.Len())
	require.NoError(t, set.Set(poller.Readable))
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len(), "disarmed")
	require.NoError(t, p.Registry().Reregister(r, 2, poller.Readable|poller.Oneshot))
	require.NoError(t, p.Poll(events, 0))
	require.Equal(t, 1, events.Len(), "rearmed and still ready")
	require.Equal(t, poller.Token(2), events.At(0).Token())
}

func TestRegistrationMisuse(t *testing.T) {
	p := newPoll(t)
	r, set := poller.NewRegistration()
	reg := p.Registry()
	require.ErrorIs(t, reg.Reregister(r, 1, poller.Readable), poller.ErrNotRegistered)
	require.ErrorIs(t, reg.Deregister(r), poller.ErrNotRegistered)
	require.ErrorIs(t, reg.Register(r, 1, 0), poller.ErrInvalidInterest)
	require.NoError(t, reg.Register(r, 1, poller.Readable))
	require.ErrorIs(t, reg.Register(r, 1, poller.Readable), poller.ErrAlreadyRegistered)

	other := newPoll(t)
	require.NoError(t, reg.Deregister(r))
	require.ErrorIs(t, other.Registry().Register(r, 1, poller.Readable), poller.ErrAlreadyRegistered,
		"a Registration belongs to its first Poll")
	require.ErrorIs(t, set.Set(poller.Readable|poller.Level), poller.ErrInvalidInterest)

	require.NoError(t, r.Close())
	require.ErrorIs(t, r.Close(), poller.ErrClosed)
	require.ErrorIs(t, set.Set(poller.Readable), poller.ErrClosed)
	require.ErrorIs(t, reg.Register(r, 1, poller.Readable), poller.ErrClosed)
}

func TestDeregisteredRegistrationIsSilent(t *testing.T) {
	p := newPoll(t)
	r, set := newRegistration(t, p, 1, poller.Readable)
	require.NoError(t, set.Set(poller.Readable))
	require.NoError(t, p.Registry().Deregister(r))
	expectNoEvents(t, p)
	require.NoError(t, set.Set(poller.Readable))
	expectNoEvents(t, p)
	require.NoError(t, p.Registry().Register(r, 9, poller.Readable))
	expectEvents(t, p, readable(9))
}

func TestClosedPollLetsGoOfRegistrations(t *testing.T) {
	p, err := poller.New()
	require.NoError(t, err)
	_, set := newRegistration(t, p, 1, poller.Readable)
	require.NoError(t, set.Set(poller.Readable)) // queued
	require.NoError(t, p.Close())
	// Producers that find the queue closed do no harm.
	for range 10 {
		require.NoError(t, set.Set(poller.Readable))
		require.NoError(t, set.Set(0))
	}
}

// mio 0.6's single_threaded_poll: producers cycle readiness while the
// poller flips interest between writable and readable; every registration
// ends readable.
func TestReadinessCyclingWhileInterestFlips(t *testing.T) {
	const (
		attempts      = 5
		iters         = 100
		producers     = 4
		registrations = 128
	)
	for range attempts {
		p := newPoll(t)
		regs := make([]*poller.Registration, registrations)
		sets := make([]*poller.SetReadiness, registrations)
		for i := range regs {
			regs[i], sets[i] = newRegistration(t, p, poller.Token(i), poller.Readable)
		}
		last := make([]poller.Event, registrations)
		var remaining atomic.Int32
		remaining.Store(producers)
		for range producers {
			go func() {
				defer remaining.Dec()
				for range iters {
					for _, s := range sets {
						_ = s.Set(poller.Readable)
						_ = s.Set(0)
						_ = s.Set(poller.Writable)
						_ = s.Set(poller.Readable | poller.Writable)
						_ = s.Set(0)
					}
				}
				for _, s := range sets {
					_ = s.Set(poller.Readable)
				}
			}()
		}
		events := poller.NewEvents(registrations)
		record := func() {
			for ev := range events.All() {
				last[ev.Token()] = ev
			}
		}
		for remaining.Load() > 0 {
			for i, r := range regs {
				require.NoError(t, p.Registry().Reregister(r, poller.Token(i), poller.Writable))
			}
			require.NoError(t, p.Poll(events, 0))
			record()
			for i, r := range regs {
				require.NoError(t, p.Registry().Reregister(r, poller.Token(i), poller.Readable))
			}
		}
		for {
			require.NoError(t, p.Poll(events, 0))
			if events.Len() == 0 {
				break
			}
			record()
		}
		for i, ev := range last {
			require.True(t, ev.IsReadable() && !ev.IsWritable(), "registration %d ended %v", i, ev)
		}
	}
}

// mio 0.6's with_small_events_collection: capacity 4, eight goroutines
// setting readiness without pause; no deadlock, every token seen.
func TestSmallEventsManySpinningProducers(t *testing.T) {
	p := newPoll(t)
	const n = 8
	sets := make([]*poller.SetReadiness, n)
	for i := range sets {
		_, sets[i] = newRegistration(t, p, poller.Token(i), poller.Readable)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for _, s := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				_ = s.Set(poller.Readable)
				runtime.Gosched()
			}
			_ = s.Set(poller.Readable)
		}()
	}
	events := poller.NewEvents(4)
	for range 1000 {
		require.NoError(t, p.Poll(events, -1))
	}
	done.Store(true)
	wg.Wait()
	seen := make([]bool, n)
	require.Eventually(t, func() bool {
		require.NoError(t, p.Poll(events, 10*time.Millisecond))
		for ev := range events.All() {
			seen[ev.Token()] = true
		}
		for _, s := range seen {
			if !s {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
}

// mio 0.6's drop_registration_from_non_main_thread: registrations set and
// closed on other goroutines while the Poll drains; nothing leaks, nothing
// panics.
func TestRegistrationsClosedFromOtherGoroutines(t *testing.T) {
	p := newPoll(t)
	const (
		workers = 8
		iters   = 50_000
	)
	type pair struct {
		r *poller.Registration
		s *poller.SetReadiness
	}
	chans := make([]chan pair, workers)
	var wg sync.WaitGroup
	for i := range chans {
		chans[i] = make(chan pair, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pr := range chans[i] {
				_ = pr.s.Set(poller.Readable)
				_ = pr.r.Close()
			}
		}()
	}
	events := poller.NewEvents(1024)
	// Weak pointers tell whether anything, the queue included, still holds
	// a closed registration once the drains are over.
	gone := make([]weak.Pointer[poller.SetReadiness], 0, iters)
	for i := range iters {
		r, s := newRegistration(t, p, poller.Token(i), poller.Readable)
		gone = append(gone, weak.Make(s))
		chans[i%workers] <- pair{r, s}
		if i%workers == workers-1 {
			require.NoError(t, p.Poll(events, time.Millisecond))
		}
	}
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	// Drain what is left: closed registrations never surface afterwards.
	require.NoError(t, p.Poll(events, 0))
	require.NoError(t, p.Poll(events, 0))
	require.Zero(t, events.Len())
	runtime.GC()
	runtime.GC()
	alive := 0
	for _, w := range gone {
		if w.Value() != nil {
			alive++
		}
	}
	require.Zero(t, alive, "closed registrations still reachable: a leak")
}

// Four pollers on one Poll, each registration fired exactly 16 times with
// the poller re-arming in between: every firing is seen exactly once.
func TestConcurrentPollersSeeEveryFiring(t *testing.T) {
	p := newPoll(t)
	const (
		pollers = 4
		regs    = 10_000
		fires   = 16
	)
	sets := make([]*poller.SetReadiness, regs)
	for i := range sets {
		_, sets[i] = newRegistration(t, p, poller.Token(i), poller.Readable)
	}
	counts := make([]atomic.Int32, regs)
	var total atomic.Int64
	var wg sync.WaitGroup
	for range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := poller.NewEvents(256)
			for total.Load() < regs*fires {
				if err := p.Poll(events, 10*time.Millisecond); err != nil {
					t.Error(err)
					return
				}
				for ev := range events.All() {
					i := ev.Token()
					// Seen: clear readiness, then fire again if firings remain.
					c := counts[i].Inc()
					total.Inc()
					_ = sets[i].Set(0)
					if c < fires {
						_ = sets[i].Set(poller.Readable)
					}
				}
			}
		}()
	}
	for _, s := range sets {
		require.NoError(t, s.Set(poller.Readable))
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatalf("only %d of %d firings seen", total.Load(), regs*fires)
	}
	for i := range counts {
		require.Equal(t, int32(fires), counts[i].Load(), "registration %d", i)
	}
}

// No wake system call while the poller is awake: under a steady stream of
// Sets only the ones that find the poller asleep in the kernel pay for one.
func TestSetsWakeOnlyASleepingPoll(t *testing.T) {
	p := newPoll(t)
	const regs = 64
	sets := make([]*poller.SetReadiness, regs)
	for i := range sets {
		_, sets[i] = newRegistration(t, p, poller.Token(i), poller.Readable)
	}
	var stop atomic.Bool
	var setCount atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; !stop.Load(); i++ {
				_ = sets[i%regs].Set(poller.Readable)
				setCount.Inc()
			}
		}()
	}
	events := poller.NewEvents(256)
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		require.NoError(t, p.Poll(events, 10*time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()
	sets1000 := float64(p.Wakeups()) * 1000 / float64(setCount.Load())
	t.Logf("%d Sets, %d wake-ups: %.2f wake-ups per 1,000 Sets", setCount.Load(), p.Wakeups(), sets1000)
	require.Less(t, sets1000, 100.0, "most Sets must find the poller awake")
}

// A randomized stress for a bounded time: producers set random readiness;
// every Set of interest that comes after the poller's last look at a
// registration must surface (mio #892 lost such events). Each producer bumps
// a registration's generation before a readable Set; the poller notes the
// generation it sees with each event. If an event was dequeued before a
// Set's state change, that Set enqueued the node again, so in the end the
// poller must have seen every registration's final generation.
func TestRandomizedStressNoSetIsLost(t *testing.T) {
	p := newPoll(t)
	const (
		producers = 4
		perProd   = 32
		regs      = producers * perProd
	)
	sets := make([]*poller.SetReadiness, regs)
	for i := range sets {
		_, sets[i] = newRegistration(t, p, poller.Token(i), poller.Readable)
	}
	gens := make([]atomic.Int64, regs)
	seen := make([]int64, regs) // the poller's alone
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := uint64(g)*0x9e3779b97f4a7c15 + 1
			next := func() uint64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
			mine := sets[g*perProd : (g+1)*perProd]
			for !stop.Load() {
				k := int(next() % perProd)
				i := g*perProd + k
				switch next() % 3 {
				case 0:
					gens[i].Inc()
					_ = mine[k].Set(poller.Readable)
				case 1:
					_ = mine[k].Set(poller.Writable)
				default:
					_ = mine[k].Set(0)
				}
			}
			for k, s := range mine {
				gens[g*perProd+k].Inc()
				_ = s.Set(poller.Readable)
			}
		}()
	}
	events := poller.NewEvents(64)
	record := func() {
		for ev := range events.All() {
			seen[ev.Token()] = gens[ev.Token()].Load()
		}
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		require.NoError(t, p.Poll(events, time.Millisecond))
		record()
	}
	stop.Store(true)
	wg.Wait()
	for {
		require.NoError(t, p.Poll(events, 0))
		if events.Len() == 0 {
			break
		}
		record()
	}
	for i := range seen {
		require.Equal(t, gens[i].Load(), seen[i], "registration %d: its last Set never surfaced", i)
	}
}

func TestRegistrationThroughAClonedRegistry(t *testing.T) {
	p := newPoll(t)
	clone, err := p.Registry().TryClone()
	require.NoError(t, err)
	defer clone.Close()
	r, set := poller.NewRegistration()
	require.NoError(t, clone.Register(r, 4, poller.Readable))
	require.NoError(t, set.Set(poller.Readable))
	expectEvents(t, p, readable(4))
	// The clone and the Poll's own registry are one Poll to it.
	require.NoError(t, p.Registry().Reregister(r, 5, poller.Readable))
	require.NoError(t, set.Set(poller.Readable))
	expectEvents(t, p, readable(5))
}
