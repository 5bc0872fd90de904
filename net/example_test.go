//go:build unix

package net_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

// A one-connection echo server on metal's poller: accept when the listener
// is readable, echo when the connection is readable, and drain each source
// to ErrWouldBlock before polling again (the registrations are
// edge-triggered).
func ExampleTCPListener() {
	const (
		listenerTok poller.Token = iota
		connTok
	)
	l, err := metalnet.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	addr, _ := l.LocalAddr()

	p, err := poller.New()
	if err != nil {
		panic(err)
	}
	defer p.Close()
	if err := p.Registry().Register(l, listenerTok, poller.Readable); err != nil {
		panic(err)
	}

	// A client, with Go's own net package, in the background.
	reply := make(chan string)
	go func() {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			panic(err)
		}
		defer c.Close()
		c.Write([]byte("hello, metal"))
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		reply <- string(b)
	}()

	var conn *metalnet.TCPStream
	events := poller.NewEvents(16)
	buf := make([]byte, 4096)
	for done := false; !done; {
		if err := p.Poll(events, -1); err != nil {
			panic(err)
		}
		for ev := range events.All() {
			switch ev.Token() {
			case listenerTok:
				s, _, err := l.Accept()
				if errors.Is(err, poller.ErrWouldBlock) {
					continue // spurious: nothing to accept
				} else if err != nil {
					panic(err)
				}
				conn = s
				defer conn.Close()
				p.Registry().Register(conn, connTok, poller.Readable)
			case connTok:
				for {
					n, err := conn.Read(buf)
					if errors.Is(err, poller.ErrWouldBlock) {
						break
					}
					if err == io.EOF {
						conn.Shutdown(metalnet.ShutdownWrite)
						done = true
						break
					}
					if err != nil {
						panic(err)
					}
					conn.Write(buf[:n]) // a dozen bytes always fit the send buffer
				}
			}
		}
	}
	fmt.Println(<-reply)
	// Output: hello, metal
}
