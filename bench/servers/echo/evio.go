package echo

// evio is github.com/tidwall/evio as its README writes an echo server:
// Events whose Data handler returns its input as output, served with
// evio.Serve, with NumLoops set to GOMAXPROCS. evio has no Stop call; its
// documented way out is an event handler returning Shutdown, so a Tick
// polls for the stop request.

import (
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tidwall/evio"
)

// evioStopPoll is how often evio's Tick looks for a stop request.
const evioStopPoll = 50 * time.Millisecond

func startEvio(addr string) (Server, error) {
	var stopping atomic.Bool
	serving := make(chan net.Addr, 1)
	events := evio.Events{
		NumLoops: runtime.GOMAXPROCS(0),
		Serving: func(s evio.Server) evio.Action {
			serving <- s.Addrs[0]
			return evio.None
		},
		Data: func(_ evio.Conn, in []byte) ([]byte, evio.Action) {
			return in, evio.None
		},
		Tick: func() (time.Duration, evio.Action) {
			if stopping.Load() {
				return 0, evio.Shutdown
			}
			return evioStopPoll, evio.None
		},
	}
	done := make(chan error, 1)
	go func() { done <- evio.Serve(events, "tcp://"+addr) }()
	var bound net.Addr
	select {
	case bound = <-serving:
	case err := <-done:
		if err == nil {
			err = errors.New("evio.Serve returned before it served")
		}
		return nil, err
	}
	stop := func() error {
		stopping.Store(true)
		select {
		case err := <-done:
			return err
		case <-time.After(shutdownTimeout):
			return errors.New("evio did not stop in time")
		}
	}
	return &server{addr: bound, stop: stop}, nil
}
