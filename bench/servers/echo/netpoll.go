package echo

// netpoll is github.com/cloudwego/netpoll as its guide writes a server: a
// Listener from CreateListener, an EventLoop from NewEventLoop whose
// OnRequest handler takes what the Reader holds with Next, hands it to the
// Writer without a copy (WriteBinary), Flushes and Releases. The guide's
// advice for I/O-heavy services, as many pollers as GOMAXPROCS, is applied
// through Configure (SetNumLoops, which the guide shows, is deprecated).

import (
	"context"
	"runtime"
	"sync"

	"github.com/cloudwego/netpoll"
)

// netpollLoops sets netpoll's poller count, a process-wide setting, once.
// netpoll asks for Configure to be called in init because its pollers read
// the setting when they start; they start lazily, on first use, and this
// runs before that.
var netpollLoops = sync.OnceValue(func() error {
	return netpoll.Configure(netpoll.Config{PollerNum: runtime.GOMAXPROCS(0)})
})

func netpollEcho(_ context.Context, c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	buf, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	if _, err := w.WriteBinary(buf); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return r.Release()
}

func startNetpoll(addr string) (Server, error) {
	if err := netpollLoops(); err != nil {
		return nil, err
	}
	ln, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return nil, err
	}
	loop, err := netpoll.NewEventLoop(netpollEcho)
	if err != nil {
		ln.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- loop.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := loop.Shutdown(ctx) // closes the listener and the connections
		<-done
		return err
	}
	return &server{addr: ln.Addr(), stop: stop}, nil
}
