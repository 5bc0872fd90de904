package peer

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

// StartNetpoll serves addr with github.com/cloudwego/netpoll as its guide
// writes a server: a Listener from CreateListener and an EventLoop from
// NewEventLoop with the handler onRequest and any options. The guide's
// advice for I/O-heavy services, as many pollers as GOMAXPROCS, is applied
// through Configure (SetNumLoops, which the guide shows, is deprecated).
func StartNetpoll(addr string, onRequest netpoll.OnRequest, opts ...netpoll.Option) (*Server, error) {
	if err := netpollLoops(); err != nil {
		return nil, err
	}
	ln, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return nil, err
	}
	loop, err := netpoll.NewEventLoop(onRequest, opts...)
	if err != nil {
		ln.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- loop.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		err := loop.Shutdown(ctx) // closes the listener and the connections
		<-done
		return err
	}
	return &Server{addr: ln.Addr(), stop: stop}, nil
}
