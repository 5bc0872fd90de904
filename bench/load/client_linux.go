package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"
)

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
	c, err := newClient(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer c.close()
	c.dialAll()
	start := time.Now()
	c.rounds(start.Add(cfg.Duration), 0)
	res := Result{
		Msgs:     c.msgs,
		Elapsed:  c.last.Sub(start),
		Latency:  &c.hist,
		Errors:   c.errs,
		FirstErr: c.first,
	}
	if res.Elapsed <= 0 {
		res.Elapsed = time.Since(start)
	}
	res.Bytes = res.Msgs * uint64(cfg.Size)
	return res, nil
}

// Hold opens conns connections to addr, echoes one message of size bytes
// on each, calls ready with how many connections are open and the first
// error counted, if any, and then keeps them open, idle, until ctx is
// done. It measures what idle connections cost a server.
func Hold(ctx context.Context, addr string, conns, size int, ready func(open int, err error)) error {
	cfg := Config{Addr: addr, Conns: conns, Size: size, Pipeline: 1, Duration: time.Hour, RoundTimeout: DefaultRoundTimeout}
	if err := cfg.validate(); err != nil {
		return err
	}
	c, err := newClient(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.close()
	c.dialAll()
	c.rounds(time.Now().Add(cfg.Duration), 1)
	open := 0
	for i := range c.conns {
		if c.conns[i].fd >= 0 {
			open++
		}
	}
	ready(open, c.first)
	<-ctx.Done()
	return nil
}

// conn is one connection's state.
type conn struct {
	fd         int // -1 once closed or never opened
	out, in    []byte
	wrote, got int       // progress of the round under way
	t0         time.Time // when the round under way started
	busy       bool      // a round is under way
	connecting bool
	dialStart  time.Time
	seq        uint64 // messages sent so far: stamped into each message
	round      int    // rounds started
	rounds     int    // rounds this connection may start; 0 means no limit
}

// client is a run: the connections, the epoll instance and the counts. A
// single goroutine uses it.
type client struct {
	ctx    context.Context
	cfg    Config
	sa     syscall.Sockaddr
	family int
	epfd   int
	conns  []conn
	events []syscall.EpollEvent

	hist  Histogram
	msgs  uint64
	errs  uint64
	first error
	last  time.Time // when the last round ended
	busy  int       // rounds under way
}

func newClient(ctx context.Context, cfg Config) (*client, error) {
	addr, err := net.ResolveTCPAddr("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	c := &client{ctx: ctx, cfg: cfg, conns: make([]conn, cfg.Conns), events: make([]syscall.EpollEvent, 256)}
	if ip4 := addr.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: addr.Port}
		copy(sa.Addr[:], ip4)
		c.sa, c.family = sa, syscall.AF_INET
	} else {
		sa := &syscall.SockaddrInet6{Port: addr.Port}
		copy(sa.Addr[:], addr.IP.To16())
		c.sa, c.family = sa, syscall.AF_INET6
	}
	c.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("load: epoll_create1: %w", err)
	}
	batch := cfg.Size * cfg.Pipeline
	for i := range c.conns {
		rng := rand.New(rand.NewPCG(uint64(i), 0x6563686f))
		out := make([]byte, batch)
		for k := range out {
			out[k] = byte(rng.Uint32())
		}
		c.conns[i] = conn{fd: -1, out: out, in: make([]byte, batch)}
	}
	return c, nil
}

// fail counts err against connection i and closes it, unless the run was
// cancelled, which is no failure.
func (c *client) fail(i int, err error) {
	k := &c.conns[i]
	if k.busy {
		k.busy = false
		c.busy--
	}
	c.closeConn(i)
	if c.ctx.Err() != nil {
		return
	}
	c.errs++
	if c.first == nil {
		c.first = err
	}
}

func (c *client) closeConn(i int) {
	k := &c.conns[i]
	if k.fd >= 0 {
		syscall.Close(k.fd)
		k.fd = -1
	}
}

func (c *client) close() {
	for i := range c.conns {
		c.closeConn(i)
	}
	syscall.Close(c.epfd)
}

// wait waits up to tick for events; it returns none on EINTR.
func (c *client) wait() []syscall.EpollEvent {
	n, err := syscall.EpollWait(c.epfd, c.events, int(tick/time.Millisecond))
	if err != nil {
		return nil // EINTR: the caller loops
	}
	return c.events[:n]
}

// dialAll opens every connection, dialers at a time. A connection that
// could not be opened stays closed and counts as an error.
func (c *client) dialAll() {
	next, pending := 0, 0
	for next < len(c.conns) || pending > 0 {
		if c.ctx.Err() != nil {
			return
		}
		for pending < dialers && next < len(c.conns) {
			if c.startDial(next) {
				pending++
			}
			next++
		}
		for _, ev := range c.wait() {
			i := int(ev.Fd)
			k := &c.conns[i]
			if !k.connecting {
				continue
			}
			k.connecting = false
			pending--
			soerr, err := syscall.GetsockoptInt(k.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
			if err == nil && soerr != 0 {
				err = syscall.Errno(soerr)
			}
			if err != nil {
				c.fail(i, fmt.Errorf("dial: %w", err))
			}
		}
		now := time.Now()
		for i := range c.conns[:next] {
			if k := &c.conns[i]; k.connecting && now.Sub(k.dialStart) > dialTimeout {
				k.connecting = false
				pending--
				c.fail(i, fmt.Errorf("dial: %w", os.ErrDeadlineExceeded))
			}
		}
	}
}

// startDial starts a non-blocking connect for connection i and registers
// it, edge-triggered, for both directions. It reports whether the connect
// is under way.
func (c *client) startDial(i int) bool {
	fd, err := syscall.Socket(c.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		c.fail(i, fmt.Errorf("dial: socket: %w", err))
		return false
	}
	k := &c.conns[i]
	k.fd = fd
	// As Go's net and every server here: no Nagle delay.
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		c.fail(i, fmt.Errorf("dial: TCP_NODELAY: %w", err))
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | -syscall.EPOLLET, Fd: int32(i)}
	if err := syscall.EpollCtl(c.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		c.fail(i, fmt.Errorf("dial: epoll_ctl: %w", err))
		return false
	}
	err = syscall.Connect(fd, c.sa)
	if err != nil && err != syscall.EINPROGRESS {
		c.fail(i, fmt.Errorf("dial: %w", err))
		return false
	}
	k.connecting, k.dialStart = true, time.Now()
	return true
}

// rounds runs round trips on every open connection: rounds each if limit
// is positive, else as many as start before end. It returns when no round
// is under way, or when ctx is done.
func (c *client) rounds(end time.Time, limit int) {
	for i := range c.conns {
		c.conns[i].rounds = limit
		c.startRound(i, end)
	}
	lastCheck := time.Now()
	for c.busy > 0 {
		if c.ctx.Err() != nil {
			for i := range c.conns {
				if c.conns[i].busy {
					c.conns[i].busy = false
					c.busy--
				}
			}
			return
		}
		for _, ev := range c.wait() {
			i := int(ev.Fd)
			k := &c.conns[i]
			if k.fd < 0 || !k.busy {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && k.wrote < len(k.out) {
				if !c.write(i) {
					continue
				}
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				c.read(i, end)
			}
		}
		if now := time.Now(); now.Sub(lastCheck) >= tick {
			lastCheck = now
			for i := range c.conns {
				if k := &c.conns[i]; k.busy && now.Sub(k.t0) > c.cfg.RoundTimeout {
					c.fail(i, fmt.Errorf("round %d: %w", k.round-1, os.ErrDeadlineExceeded))
				}
			}
		}
	}
}

// startRound starts connection i's next round, unless it is closed, its
// rounds are done or end has passed.
func (c *client) startRound(i int, end time.Time) {
	k := &c.conns[i]
	if k.fd < 0 || (k.rounds > 0 && k.round >= k.rounds) || c.ctx.Err() != nil {
		return
	}
	now := time.Now()
	if !now.Before(end) {
		return
	}
	size, pipeline := c.cfg.Size, c.cfg.Pipeline
	// A fresh stamp per message, so that a stale or reordered echo never
	// matches.
	if size >= 8 {
		for m := range pipeline {
			binary.LittleEndian.PutUint64(k.out[m*size:], k.seq+uint64(m))
		}
	} else {
		k.out[k.round%len(k.out)]++
	}
	k.seq += uint64(pipeline)
	k.round++
	k.wrote, k.got, k.t0, k.busy = 0, 0, now, true
	c.busy++
	c.write(i)
}

// write writes what the round has left to send, until the kernel takes no
// more. It reports false if the connection failed.
func (c *client) write(i int) bool {
	k := &c.conns[i]
	for k.wrote < len(k.out) {
		n, err := syscall.Write(k.fd, k.out[k.wrote:])
		switch {
		case err == syscall.EAGAIN:
			return true // the next EPOLLOUT edge resumes
		case err == syscall.EINTR:
			continue
		case err != nil:
			c.fail(i, fmt.Errorf("round %d: write: %w", k.round-1, err))
			return false
		}
		k.wrote += n
	}
	return true
}

// read reads what has arrived of the round's echo; once all of it has,
// it checks it, counts the round and starts the next.
func (c *client) read(i int, end time.Time) {
	k := &c.conns[i]
	for k.got < len(k.in) {
		n, err := syscall.Read(k.fd, k.in[k.got:])
		switch {
		case err == syscall.EAGAIN:
			return // the next EPOLLIN edge resumes
		case err == syscall.EINTR:
			continue
		case err != nil:
			c.fail(i, fmt.Errorf("round %d: read: %w", k.round-1, err))
			return
		case n == 0:
			c.fail(i, fmt.Errorf("round %d: read: %w", k.round-1, errEOF))
			return
		}
		k.got += n
	}
	now := time.Now()
	c.hist.Record(now.Sub(k.t0))
	if !bytes.Equal(k.out, k.in) {
		c.fail(i, fmt.Errorf("round %d: the echo differs from what was sent", k.round-1))
		return
	}
	c.msgs += uint64(c.cfg.Pipeline)
	if c.cfg.Progress != nil {
		c.cfg.Progress.Add(uint64(c.cfg.Pipeline))
	}
	c.last = now
	k.busy = false
	c.busy--
	c.startRound(i, end)
}

// errEOF is a server closing a connection in the middle of a round.
var errEOF = errors.New("the server closed the connection")
