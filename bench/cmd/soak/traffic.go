package main

// This file is the load: the two kinds of worker (churn and steady), the
// ways a churn connection ends, and the counters every request is
// accounted in. What is said on a connection is the protocol's business
// (protocol.go); here a request either comes back verified, or is lost,
// or was on a connection the soak abandoned on purpose.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// dialTimeout bounds one connection attempt.
	dialTimeout = 10 * time.Second
	// redialPause is how long a worker waits after a failed dial, so
	// that a dead server costs a failure a second, not a spin.
	redialPause = time.Second
	// maxErrors is how many lost requests' errors a server's stats keep,
	// to say what went wrong.
	maxErrors = 10
	// readBufSize is a client's read buffer.
	readBufSize = 16 << 10
)

// churnStyle is how a churn connection ends.
type churnStyle int

const (
	politeClose    churnStyle = iota // a few exchanges, then close
	goodbye                          // a few exchanges, then the protocol's own end (echo: half-close and read to EOF; kv: QUIT)
	walkAway                         // a request, or part of one, then close without reading the reply
	resetMidway                      // a request, or part of one, then an RST (SO_LINGER 0)
	resetIdle                        // a few exchanges, then an RST with nothing in flight
	silent                           // dial and close, nothing said
	numChurnStyles                   // how many styles there are
)

// String is the style's name, as the summary and the JSON use it.
func (s churnStyle) String() string {
	switch s {
	case politeClose:
		return "polite_close"
	case goodbye:
		return "goodbye"
	case walkAway:
		return "walk_away"
	case resetMidway:
		return "reset_midway"
	case resetIdle:
		return "reset_idle"
	case silent:
		return "silent"
	}
	return fmt.Sprintf("churnStyle(%d)", int(s))
}

// styleDraw is the mix of churn styles: half the connections close
// politely, a tenth end each of the other ways.
var styleDraw = [...]churnStyle{
	politeClose, politeClose, politeClose, politeClose, politeClose,
	goodbye, walkAway, resetMidway, resetIdle, silent,
}

// stats counts one server's load. Every field is safe for concurrent use.
type stats struct {
	requests     atomic.Uint64 // requests whose replies came back verified
	lost         atomic.Uint64 // requests that failed, timed out or came back wrong
	conns        atomic.Uint64 // connections opened
	dialFailures atomic.Uint64 // connection attempts that failed
	styles       [numChurnStyles]atomic.Uint64

	mu     sync.Mutex
	errors []string // the first maxErrors errors
}

// note keeps err's text if fewer than maxErrors are kept.
func (s *stats) note(who string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errors) < maxErrors {
		s.errors = append(s.errors, who+": "+err.Error())
	}
}

// firstErrors returns a copy of the errors kept.
func (s *stats) firstErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

// exchange makes one exchange on c and accounts for its requests: verified
// or lost. It reports whether they were verified.
func (s *stats) exchange(who string, p protocol, c *client) bool {
	n, err := p.exchange(c)
	if err != nil {
		s.lost.Add(uint64(n))
		s.note(who, err)
		return false
	}
	s.requests.Add(uint64(n))
	return true
}

// finish ends c the protocol's way and accounts for its requests.
func (s *stats) finish(who string, p protocol, c *client) {
	n, err := p.finish(c)
	if err != nil {
		s.lost.Add(uint64(n))
		s.note(who, err)
		return
	}
	s.requests.Add(uint64(n))
}

// dial connects c to addr, counting the connection or the failure; after a
// failure it waits redialPause (or for ctx) before it returns.
func (s *stats) dial(ctx context.Context, who string, c *client, addr string) bool {
	if err := c.dial(addr); err != nil {
		s.dialFailures.Add(1)
		s.note(who, err)
		select {
		case <-ctx.Done():
		case <-time.After(redialPause):
		}
		return false
	}
	s.conns.Add(1)
	return true
}

// traffic is the load on one server.
type traffic struct {
	proto        protocol
	addr         string
	steadyConns  int           // long-lived connections
	churnWorkers int           // workers that dial, talk briefly and hang up, over and over
	opTimeout    time.Duration // bounds every exchange
	seed         uint64        // varies the payloads between runs and phases
}

// run puts the load on the server until ctx is done, then waits for every
// worker to close its connection. Workers only look at ctx between
// exchanges, so no request is cut short by the end of the run.
func (t traffic) run(ctx context.Context, s *stats) {
	var wg sync.WaitGroup
	for i := range t.steadyConns {
		wg.Go(func() { t.steady(ctx, i, s) })
	}
	for i := range t.churnWorkers {
		wg.Go(func() { t.churn(ctx, i, s) })
	}
	wg.Wait()
}

// steady keeps one connection busy with exchanges until ctx is done. A
// failed exchange loses its requests and the connection, which is then
// dialled again: one fault must not hide the rest of the run.
func (t traffic) steady(ctx context.Context, id int, s *stats) {
	who := fmt.Sprintf("%s steady %d", t.proto.name(), id)
	c := newClient(rand.New(rand.NewPCG(t.seed, uint64(id))), fmt.Sprintf("soak:s%d", id), t.opTimeout)
	defer c.close()
	for ctx.Err() == nil {
		if c.conn == nil && !s.dial(ctx, who, c, t.addr) {
			continue
		}
		if !s.exchange(who, t.proto, c) {
			c.close()
		}
	}
}

// churn opens connection after connection until ctx is done, each ended
// in a style drawn from styleDraw.
func (t traffic) churn(ctx context.Context, id int, s *stats) {
	who := fmt.Sprintf("%s churn %d", t.proto.name(), id)
	rng := rand.New(rand.NewPCG(t.seed, 1<<32|uint64(id)))
	c := newClient(rng, fmt.Sprintf("soak:c%d", id), t.opTimeout)
	for ctx.Err() == nil {
		if !s.dial(ctx, who, c, t.addr) {
			continue
		}
		style := styleDraw[rng.IntN(len(styleDraw))]
		s.styles[style].Add(1)
		t.churnOne(who, c, style, s)
	}
}

// churnOne talks on c, just dialled, and ends it in the given style.
func (t traffic) churnOne(who string, c *client, style churnStyle, s *stats) {
	defer c.close()            // a no-op after reset
	exchanges := c.rng.IntN(3) // before the ending
	if style == politeClose || style == resetIdle {
		exchanges++
	}
	if style == silent {
		exchanges = 0
	}
	for range exchanges {
		if !s.exchange(who, t.proto, c) {
			return
		}
	}
	switch style {
	case goodbye:
		s.finish(who, t.proto, c)
	case walkAway:
		_ = t.proto.abandon(c) // whatever happens to it is no loss
	case resetMidway:
		_ = t.proto.abandon(c)
		c.reset()
	case resetIdle:
		c.reset()
	}
}

// client is one connection of a worker, with its buffers, its random
// source and its key space, which outlive the connection: a churn worker
// reuses them for every connection it opens.
type client struct {
	conn    *net.TCPConn
	rng     *rand.Rand
	keys    string // prefix of this client's keys
	seq     uint64 // exchanges made, for the next key and value
	timeout time.Duration
	wbuf    []byte // what is written
	rbuf    []byte // what is read back
	vbuf    []byte // the value of the current kv exchange
	r       *bufio.Reader
}

// newClient returns a client with no connection yet.
func newClient(rng *rand.Rand, keys string, timeout time.Duration) *client {
	return &client{rng: rng, keys: keys, timeout: timeout}
}

// dial connects the client to addr.
func (c *client) dial(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	c.conn = nc.(*net.TCPConn)
	if c.r == nil {
		c.r = bufio.NewReaderSize(c.conn, readBufSize)
	} else {
		c.r.Reset(c.conn)
	}
	return nil
}

// deadline bounds the next exchange by the client's timeout.
func (c *client) deadline() error {
	return c.conn.SetDeadline(time.Now().Add(c.timeout))
}

// close closes the connection, if there is one, with a FIN.
func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// reset closes the connection with an RST: SO_LINGER 0 discards whatever
// is unsent and aborts.
func (c *client) reset() {
	if c.conn != nil {
		_ = c.conn.SetLinger(0)
		c.close()
	}
}

// errWrongReply is wrapped by the errors of replies that came back, but
// not as sent.
var errWrongReply = errors.New("wrong reply")
