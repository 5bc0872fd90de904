//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"

	"github.com/metalio/metal/poller"
)

// Set→Poll: producers set readiness on registrations of their own, one
// consumer polls. The Go-native alternative is a buffered chan Token fed by
// the same producers. One op is one Set (or one send); metal coalesces Sets
// on a registration already queued, which is the point of a readiness queue.
func BenchmarkSetPoll(b *testing.B) {
	for _, producers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			p := newPoll(b)
			const perProducer = 64
			sets := make([]*poller.SetReadiness, producers*perProducer)
			for i := range sets {
				r, s := poller.NewRegistration()
				require.NoError(b, p.Registry().Register(r, poller.Token(i), poller.Readable))
				sets[i] = s
			}
			// The consumer sleeps in the kernel whenever the queue runs dry,
			// so the benchmark also counts the wake-ups Sets pay for.
			stop, err := poller.NewWaker(p.Registry(), ^poller.Token(0)-1)
			require.NoError(b, err)
			defer stop.Close()
			var done atomic.Bool
			var wg sync.WaitGroup
			per := b.N / producers
			wakesBefore := p.Wakeups()
			b.ReportAllocs()
			b.ResetTimer()
			for g := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := sets[g*perProducer : (g+1)*perProducer]
					for i := range per {
						_ = mine[i%perProducer].Set(poller.Readable)
					}
				}()
			}
			go func() {
				wg.Wait()
				done.Store(true)
				_ = stop.Wake()
			}()
			events := poller.NewEvents(256)
			for !done.Load() {
				if err := p.Poll(events, -1); err != nil {
					b.Fatal(err)
				}
			}
			for {
				_ = p.Poll(events, 0)
				if events.Len() == 0 {
					break
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(p.Wakeups()-wakesBefore)*1000/float64(per*producers), "wakes/1000sets")
		})
	}
}

func BenchmarkChanToken(b *testing.B) {
	for _, producers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			ch := make(chan poller.Token, 256)
			var wg sync.WaitGroup
			per := b.N / producers
			b.ReportAllocs()
			b.ResetTimer()
			for g := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						ch <- poller.Token(g*64 + i%64)
					}
				}()
			}
			go func() { wg.Wait(); close(ch) }()
			for range ch {
			}
		})
	}
}

// The cost a single goroutine pays for the Sync Poll's lock on a Poll(0),
// beside the same call made under a sync.Mutex instead. (The lock alone,
// without the system call, is BenchmarkPollLock in synclock_bench_test.go.)
func BenchmarkPollZeroTimeoutSyncPoll(b *testing.B) {
	p := newPoll(b)
	events := poller.NewEvents(64)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Poll(events, 0)
	}
}
