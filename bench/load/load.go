// Package load is the echo load client that bench measures every echo
// server with.
//
// Each of Conns connections sends Pipeline messages of Size bytes in one
// write, reads all of them back, checks that every byte came back as sent,
// and starts over, until Duration has passed. One round trip, from the
// write to the last byte read, is one latency sample. The client holds two
// buffers of Size·Pipeline bytes per connection and a fixed-size histogram;
// nothing grows with the length of the run.
package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one run.
type Config struct {
	Addr     string        // host:port of the echo server
	Conns    int           // connections, all open before the clock starts
	Size     int           // bytes per message
	Pipeline int           // messages written before their echoes are read
	Duration time.Duration // how long rounds keep starting
	// RoundTimeout bounds a round trip begun just before the end, so
	// that a server that stops echoing is an error, not a hang. Zero
	// means DefaultRoundTimeout.
	RoundTimeout time.Duration
}

// DefaultRoundTimeout is the RoundTimeout of a Config that sets none.
const DefaultRoundTimeout = 10 * time.Second

const (
	// maxBatch bounds Size·Pipeline, so that a run's memory is bounded
	// by Conns·2·maxBatch.
	maxBatch = 4 << 20
	// syncWriteMax is the largest batch written before reading starts.
	// Larger batches are written by a goroutine of their own while the
	// echo is read, or a server that stops reading while its writes are
	// blocked and the client, blocked in its write, would wait on each
	// other forever.
	syncWriteMax = 64 << 10
	// dialers is how many connections are being opened at once, so that
	// thousands of connections do not overflow the server's accept
	// backlog.
	dialers = 64
	// dialTimeout bounds one connection attempt.
	dialTimeout = 10 * time.Second
)

// Result is what a run measured.
type Result struct {
	Msgs    uint64        // messages echoed and verified
	Bytes   uint64        // payload bytes echoed and verified (one way)
	Elapsed time.Duration // from the start of the first round to the end of the last
	Latency *Histogram    // one sample per round trip
	Errors  uint64        // failed dials, failed reads or writes, wrong echoes
	// FirstErr is the first error counted, to say what went wrong.
	FirstErr error
}

// MsgsPerSec is the rate of verified messages.
func (r Result) MsgsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Msgs) / r.Elapsed.Seconds()
}

// MBPerSec is the rate of verified payload, one way, in 10^6 bytes a second.
func (r Result) MBPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Elapsed.Seconds() / 1e6
}

// String is the result on one line, as key=value pairs.
func (r Result) String() string {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	s := fmt.Sprintf("msgs/s=%.0f MB/s=%.2f p50=%.1fµs p99=%.1fµs p999=%.1fµs errors=%d",
		r.MsgsPerSec(), r.MBPerSec(),
		us(r.Latency.Quantile(0.5)), us(r.Latency.Quantile(0.99)), us(r.Latency.Quantile(0.999)),
		r.Errors)
	if r.FirstErr != nil {
		s += fmt.Sprintf(" first_error=%q", r.FirstErr.Error())
	}
	return s
}

func (c Config) validate() error {
	switch {
	case c.Conns < 1:
		return errors.New("load: Conns must be at least 1")
	case c.Size < 1:
		return errors.New("load: Size must be at least 1")
	case c.Pipeline < 1:
		return errors.New("load: Pipeline must be at least 1")
	case c.Duration <= 0:
		return errors.New("load: Duration must be positive")
	case c.RoundTimeout < 0:
		return errors.New("load: RoundTimeout must not be negative")
	case c.Size > maxBatch/c.Pipeline:
		return fmt.Errorf("load: Size·Pipeline must be at most %d bytes", maxBatch)
	}
	return nil
}

// run is the state the connections share.
type run struct {
	cfg     Config
	hist    Histogram
	msgs    atomic.Uint64
	errs    atomic.Uint64
	errOnce sync.Once
	first   error
}

// fail counts err unless the run was cancelled, which is no failure.
func (r *run) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	r.errs.Add(1)
	r.errOnce.Do(func() { r.first = err })
}

// Run opens the connections, runs rounds on each until the duration has
// passed or ctx is done, closes every connection and returns what it
// measured. Its error is for a Config it cannot run; failures during the
// run are counted in Result.Errors.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if cfg.RoundTimeout == 0 {
		cfg.RoundTimeout = DefaultRoundTimeout
	}
	r := &run{cfg: cfg}
	conns := r.dialAll(ctx)
	// Closing every connection when ctx is done unblocks the rounds.
	stopClosing := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	defer stopClosing()

	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			defer c.Close()
			r.rounds(ctx, c, uint64(i), end)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{
		Msgs:     r.msgs.Load(),
		Elapsed:  elapsed,
		Latency:  &r.hist,
		Errors:   r.errs.Load(),
		FirstErr: r.first,
	}
	res.Bytes = res.Msgs * uint64(cfg.Size)
	return res, nil
}

// dialAll opens cfg.Conns connections, dialers at a time. A connection
// that could not be opened is nil in the result and counted as an error.
func (r *run) dialAll(ctx context.Context) []net.Conn {
	conns := make([]net.Conn, r.cfg.Conns)
	d := net.Dialer{Timeout: dialTimeout}
	sem := make(chan struct{}, dialers)
	var wg sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := d.DialContext(ctx, "tcp", r.cfg.Addr)
			if err != nil {
				r.fail(ctx, fmt.Errorf("dial: %w", err))
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	return conns
}

// rounds runs round trips on c until end. id seeds the payload, so that
// no two connections send the same bytes.
func (r *run) rounds(ctx context.Context, c net.Conn, id uint64, end time.Time) {
	size, pipeline := r.cfg.Size, r.cfg.Pipeline
	out := make([]byte, size*pipeline)
	in := make([]byte, len(out))
	rng := rand.New(rand.NewPCG(id, 0x6563686f))
	for i := range out {
		out[i] = byte(rng.Uint32())
	}
	if err := c.SetDeadline(end.Add(r.cfg.RoundTimeout)); err != nil {
		r.fail(ctx, err)
		return
	}
	var seq uint64 // messages sent so far: stamped into each message
	for round := 0; ctx.Err() == nil && time.Now().Before(end); round++ {
		// A fresh stamp per message, so that a stale or reordered echo
		// never matches.
		if size >= 8 {
			for k := range pipeline {
				binary.LittleEndian.PutUint64(out[k*size:], seq+uint64(k))
			}
		} else {
			out[round%len(out)]++
		}
		seq += uint64(pipeline)

		t0 := time.Now()
		if err := roundTrip(c, out, in); err != nil {
			r.fail(ctx, fmt.Errorf("round %d: %w", round, err))
			return
		}
		r.hist.Record(time.Since(t0))
		if !bytes.Equal(out, in) {
			r.fail(ctx, fmt.Errorf("round %d: the echo differs from what was sent", round))
			return
		}
		r.msgs.Add(uint64(pipeline))
	}
}

// roundTrip writes out and reads len(out) bytes back into in.
func roundTrip(c net.Conn, out, in []byte) error {
	if len(out) <= syncWriteMax {
		if _, err := c.Write(out); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		return nil
	}
	written := make(chan error, 1)
	go func() {
		_, err := c.Write(out)
		written <- err
	}()
	_, rerr := io.ReadFull(c, in)
	if rerr != nil {
		c.Close() // unblocks the write if it is stuck
	}
	werr := <-written
	if werr != nil {
		return fmt.Errorf("write: %w", werr)
	}
	if rerr != nil {
		return fmt.Errorf("read: %w", rerr)
	}
	return nil
}
