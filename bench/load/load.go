// Package load is the echo load client that bench measures every echo
// server with.
//
// Each of Conns connections sends Pipeline messages of Size bytes in one
// write, reads all of them back, checks that every byte came back as sent,
// and starts over, until Duration has passed. One round trip, from the
// write to the last byte read, is one latency sample. The client holds two
// buffers of Size·Pipeline bytes per connection and a fixed-size histogram;
// nothing grows with the length of the run.
//
// The client is one goroutine driving non-blocking sockets through epoll
// directly, edge-triggered, with no library of its own (not metal's, not
// Go's netpoller): per round it makes one write and, in the common case,
// one read, so that on a machine where client and server share the work
// the client is not the first to run out of CPU. It needs Linux.
package load

import (
	"errors"
	"fmt"
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
	// Progress, if not nil, counts verified messages as rounds complete,
	// for a reader on another goroutine (Result.Msgs is the total).
	Progress *atomic.Uint64
}

// DefaultRoundTimeout is the RoundTimeout of a Config that sets none.
const DefaultRoundTimeout = 10 * time.Second

const (
	// maxBatch bounds Size·Pipeline, so that a run's memory is bounded
	// by Conns·2·maxBatch.
	maxBatch = 4 << 20
	// dialers is how many connections are being opened at once, so that
	// thousands of connections do not overflow the server's accept
	// backlog.
	dialers = 64
	// dialTimeout bounds one connection attempt.
	dialTimeout = 10 * time.Second
	// tick is how often the client looks for overdue rounds and for
	// cancellation when no event arrives.
	tick = 50 * time.Millisecond
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
