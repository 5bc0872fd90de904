package main

// This file is -mode poller: metal's poller used as mio is, with no
// runtime. One goroutine owns one Poll; the listener and every connection
// are registered with it under a token; each event is handled by draining
// its socket to would-block.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

const (
	listenerToken poller.Token = 0
	stopToken     poller.Token = 1
	firstConn     poller.Token = 2
)

// conn is one client. out is the part of buf still to be echoed.
type conn struct {
	stream   *metalnet.TCPStream
	buf      []byte
	out      []byte
	readable bool // a read may find data: set by events, cleared by would-block
}

// servePoller runs the event loop until ctx is done. It writes the address
// it listens on, then a newline, to w before it serves.
func servePoller(ctx context.Context, addr netip.AddrPort, w io.Writer) error {
	p, err := poller.New()
	if err != nil {
		return err
	}
	defer p.Close()
	reg := p.Registry()

	ln, err := metalnet.ListenTCP(addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := reg.Register(ln, listenerToken, poller.Readable); err != nil {
		return err
	}
	local, err := ln.LocalAddr()
	if err != nil {
		return err
	}

	// A signal becomes a wake-up: the loop sleeps in Poll without limit.
	waker, err := poller.NewWaker(reg, stopToken)
	if err != nil {
		return err
	}
	defer waker.Close()
	go func() {
		<-ctx.Done()
		_ = waker.Wake()
	}()

	fmt.Fprintln(w, local)

	// conns is a slab: a connection's token is its index plus firstConn,
	// and free lists the indexes of closed connections for reuse.
	var (
		conns []*conn
		free  []int
	)
	closeConn := func(i int) {
		c := conns[i]
		_ = reg.Deregister(c.stream)
		_ = c.stream.Close()
		conns[i] = nil
		free = append(free, i)
	}
	defer func() {
		for i, c := range conns {
			if c != nil {
				closeConn(i)
			}
		}
	}()

	events := poller.NewEvents(1024)
	for {
		if err := p.Poll(events, -1); err != nil {
			return err
		}
		for ev := range events.All() {
			switch tok := ev.Token(); tok {
			case stopToken:
				if ctx.Err() != nil {
					return nil
				}
			case listenerToken:
				// Accept until the backlog is empty.
				for {
					s, _, err := ln.Accept()
					if errors.Is(err, poller.ErrWouldBlock) {
						break
					}
					if err != nil {
						// Out of descriptors, or the peer gave up before we
						// accepted: serve the others and try again on the
						// next event.
						log.Printf("echo: accept: %v", err)
						break
					}
					i := len(conns)
					if n := len(free); n > 0 {
						i, free = free[n-1], free[:n-1]
					} else {
						conns = append(conns, nil)
					}
					c := &conn{stream: s, buf: make([]byte, bufSize), readable: true}
					conns[i] = c
					if err := reg.Register(s, firstConn+poller.Token(i), poller.Readable|poller.Writable); err != nil {
						log.Printf("echo: register: %v", err)
						closeConn(i)
					}
				}
			default:
				i := int(tok - firstConn)
				if i < 0 || i >= len(conns) || conns[i] == nil {
					continue // a connection closed earlier in this batch
				}
				c := conns[i]
				if ev.IsReadable() || ev.IsReadClosed() || ev.IsError() {
					c.readable = true
				}
				if done := c.pump(); done {
					closeConn(i)
				}
			}
		}
	}
}

// pump moves bytes until the socket would block either way, and reports
// whether the connection is finished (end of stream, or an error).
func (c *conn) pump() (done bool) {
	for {
		for len(c.out) > 0 {
			n, err := c.stream.Write(c.out)
			if errors.Is(err, poller.ErrWouldBlock) {
				return false // the next writable event resumes here
			}
			if err != nil {
				return true
			}
			c.out = c.out[n:]
		}
		if !c.readable {
			return false
		}
		n, err := c.stream.Read(c.buf)
		switch {
		case errors.Is(err, poller.ErrWouldBlock):
			c.readable = false
			return false
		case err != nil: // io.EOF or a reset: everything read was echoed
			return true
		}
		c.out = c.buf[:n]
	}
}
