//go:build unix

package net_test

import (
	"errors"
	"fmt"
	"time"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

// A pipe carries bytes one way; the poller says when each end is ready.
func ExamplePipe() {
	sender, receiver, err := metalnet.Pipe()
	if err != nil {
		panic(err)
	}
	defer sender.Close()
	defer receiver.Close()

	p, err := poller.New()
	if err != nil {
		panic(err)
	}
	defer p.Close()
	const recvToken = poller.Token(1)
	if err := p.Registry().Register(receiver, recvToken, poller.Readable); err != nil {
		panic(err)
	}

	if _, err := sender.Write([]byte("hello, pipe")); err != nil {
		panic(err)
	}
	sender.Close() // the receiver will see end of stream after the data

	events := poller.NewEvents(8)
	buf := make([]byte, 64)
	for done := false; !done; {
		if err := p.Poll(events, 5*time.Second); err != nil {
			panic(err)
		}
		for ev := range events.All() {
			if ev.Token() != recvToken {
				continue
			}
			// Edge-triggered: read until the pipe would block or ends.
			for {
				n, err := receiver.Read(buf)
				if errors.Is(err, poller.ErrWouldBlock) {
					break
				}
				if err != nil {
					fmt.Println("receiver:", err)
					done = true
					break
				}
				fmt.Printf("received %q\n", buf[:n])
			}
		}
	}
	// Output:
	// received "hello, pipe"
	// receiver: EOF
}
