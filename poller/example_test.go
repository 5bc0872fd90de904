//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package poller_test

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// A Poll watching one pipe: wait for readiness, then read until the read
// would block.
func ExamplePoll() {
	p, err := poller.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		fmt.Println(err)
		return
	}
	r, w := fds[0], fds[1]
	defer unix.Close(r)
	defer unix.Close(w)
	_ = unix.SetNonblock(r, true)

	const pipeToken poller.Token = 1
	if err := p.Registry().Register(poller.SourceFd(r), pipeToken, poller.Readable); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = unix.Write(w, []byte("hello"))

	events := poller.NewEvents(16)
	if err := p.Poll(events, time.Second); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range events.All() {
		if ev.Token() != pipeToken || !ev.IsReadable() {
			continue
		}
		buf := make([]byte, 64)
		for {
			n, err := unix.Read(r, buf)
			if err == poller.ErrWouldBlock {
				break // drained: the next event will say when there is more
			}
			if err != nil || n == 0 {
				break
			}
			fmt.Printf("read %q\n", buf[:n])
		}
	}
	// Output: read "hello"
}

// A Waker lets another goroutine interrupt a Poll.
func ExampleWaker() {
	p, err := poller.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	const wakeToken poller.Token = 99
	w, err := poller.NewWaker(p.Registry(), wakeToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	go func() { _ = w.Wake() }()

	events := poller.NewEvents(4)
	if err := p.Poll(events, -1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for ev := range events.All() {
		fmt.Println("woken:", ev.Token() == wakeToken, ev.IsReadable())
	}
	// Output: woken: true true
}

// A cloned Registry lets code that should only register sources do so
// without a reference to the Poll.
func ExampleRegistry_TryClone() {
	p, err := poller.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	r, err := p.Registry().TryClone()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	w, err := poller.NewWaker(r, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	_ = w.Wake()

	events := poller.NewEvents(4)
	_ = p.Poll(events, time.Second)
	fmt.Println(events.Len(), events.At(0).Token())
	// Output: 1 7
}

func ExampleInterest() {
	i := poller.Readable | poller.Writable | poller.Oneshot
	fmt.Println(i, i.IsReadable(), i.IsLevel())
	// Output: READABLE|WRITABLE|ONESHOT true false
}
