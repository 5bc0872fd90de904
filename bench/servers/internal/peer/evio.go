package peer

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

// StartEvio serves addr with github.com/tidwall/evio and the handlers in
// events, with NumLoops set to GOMAXPROCS. evio has no Stop call; its
// documented way out is an event handler returning Shutdown, so StartEvio
// installs its own Serving and Tick handlers (events must not set them)
// and the Tick polls for the stop request.
func StartEvio(addr string, events evio.Events) (*Server, error) {
	if events.Serving != nil || events.Tick != nil {
		return nil, errors.New("evio: StartEvio installs Serving and Tick itself")
	}
	var stopping atomic.Bool
	serving := make(chan net.Addr, 1)
	events.NumLoops = runtime.GOMAXPROCS(0)
	events.Serving = func(s evio.Server) evio.Action {
		serving <- s.Addrs[0]
		return evio.None
	}
	events.Tick = func() (time.Duration, evio.Action) {
		if stopping.Load() {
			return 0, evio.Shutdown
		}
		return evioStopPoll, evio.None
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
		case <-time.After(ShutdownTimeout):
			return errors.New("evio did not stop in time")
		}
	}
	return &Server{addr: bound, stop: stop}, nil
}
