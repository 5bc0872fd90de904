//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// The benchmarks here set metal's poll loop beside what plain Go offers for
// the same job, so one run gives the ratio:
//
//	WakeThenPoll      Waker.Wake + Poll, one goroutine   vs  GoChannelSignal
//	PingPong          two goroutines, each with a Poll
//	                  and a Waker, waking each other     vs  GoChannelPingPong,
//	                                                         GoPipePingPong (Go's netpoller)
//	PollDispatchPipe  write a byte, Poll, read it back   vs  GoPipeWriteRead
//
// Every one reports allocations; metal's must be zero.

func BenchmarkPollNoEvents(b *testing.B) {
	p := newPoll(b)
	events := poller.NewEvents(64)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Poll(events, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWakeThenPoll(b *testing.B) {
	p := newPoll(b)
	w, err := poller.NewWaker(p.Registry(), 1)
	require.NoError(b, err)
	defer w.Close()
	events := poller.NewEvents(64)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Wake(); err != nil {
			b.Fatal(err)
		}
		if err := p.Poll(events, -1); err != nil || events.Len() != 1 {
			b.Fatal(err, events.Len())
		}
	}
}

func BenchmarkWake(b *testing.B) {
	p := newPoll(b)
	w, err := poller.NewWaker(p.Registry(), 1)
	require.NoError(b, err)
	defer w.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Wake(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGoChannelSignal(b *testing.B) {
	ch := make(chan struct{}, 1)
	b.ReportAllocs()
	for b.Loop() {
		select {
		case ch <- struct{}{}:
		default:
		}
		<-ch
	}
}

func BenchmarkPingPong(b *testing.B) {
	pa, pb := newPoll(b), newPoll(b)
	wa, err := poller.NewWaker(pa.Registry(), 1)
	require.NoError(b, err)
	defer wa.Close()
	wb, err := poller.NewWaker(pb.Registry(), 2)
	require.NoError(b, err)
	defer wb.Close()
	n := b.N
	done := make(chan struct{})
	go func() {
		defer close(done)
		events := poller.NewEvents(8)
		for range n {
			if err := pb.Poll(events, -1); err != nil {
				b.Error(err)
				return
			}
			if err := wa.Wake(); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	events := poller.NewEvents(8)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		if err := wb.Wake(); err != nil {
			b.Fatal(err)
		}
		if err := pa.Poll(events, -1); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

func BenchmarkGoChannelPingPong(b *testing.B) {
	ping, pong := make(chan struct{}), make(chan struct{})
	n := b.N
	go func() {
		for range n {
			<-ping
			pong <- struct{}{}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		ping <- struct{}{}
		<-pong
	}
}

func BenchmarkGoPipePingPong(b *testing.B) {
	ar, aw, err := os.Pipe()
	require.NoError(b, err)
	br, bw, err := os.Pipe()
	require.NoError(b, err)
	defer func() { ar.Close(); aw.Close(); br.Close(); bw.Close() }()
	n := b.N
	go func() {
		var buf [1]byte
		for range n {
			if _, err := ar.Read(buf[:]); err != nil {
				return
			}
			if _, err := bw.Write(buf[:]); err != nil {
				return
			}
		}
	}()
	var buf [1]byte
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		if _, err := aw.Write(buf[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := br.Read(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPollDispatchPipe(b *testing.B) {
	p := newPoll(b)
	r, w := pipe(b)
	require.NoError(b, p.Registry().Register(poller.SourceFd(r), 1, poller.Readable))
	events := poller.NewEvents(64)
	var buf [1]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unix.Write(w, buf[:]); err != nil {
			b.Fatal(err)
		}
		if err := p.Poll(events, -1); err != nil {
			b.Fatal(err)
		}
		for ev := range events.All() {
			if ev.Token() == 1 {
				for {
					if _, err := unix.Read(r, buf[:]); err != nil {
						break // ErrWouldBlock: drained
					}
				}
			}
		}
	}
}

func BenchmarkGoPipeWriteRead(b *testing.B) {
	r, w, err := os.Pipe()
	require.NoError(b, err)
	defer func() { r.Close(); w.Close() }()
	var buf [1]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(buf[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// The zero-allocation promise, as a test that fails: poll, dispatch, wake.
func TestPollLoopAllocatesNothing(t *testing.T) {
	p := newPoll(t)
	wk, err := poller.NewWaker(p.Registry(), 2)
	require.NoError(t, err)
	defer wk.Close()
	r, w := pipe(t)
	require.NoError(t, p.Registry().Register(poller.SourceFd(r), 1, poller.Readable))
	events := poller.NewEvents(64)
	var buf [1]byte
	allocs := testing.AllocsPerRun(200, func() {
		_, _ = unix.Write(w, buf[:])
		_ = wk.Wake()
		_ = p.Poll(events, -1)
		for ev := range events.All() {
			if ev.Token() == 1 {
				for {
					if _, err := unix.Read(r, buf[:]); err != nil {
						break
					}
				}
			}
		}
		_ = p.Poll(events, 0)
	})
	require.Zero(t, allocs)
}
