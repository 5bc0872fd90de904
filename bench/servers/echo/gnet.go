package echo

// gnet is github.com/panjf2000/gnet/v2 as its README writes an echo server:
// an EventHandler embedding BuiltinEventEngine whose OnTraffic writes back
// what Conn.Next(-1) returns, run with gnet.Run in multicore mode. The number
// of event loops is set to GOMAXPROCS explicitly (WithMulticore alone uses
// NumCPU, which is the same unless GOMAXPROCS was set).

import (
	"context"
	"errors"
	"log"
	"net"
	"runtime"
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// gnetLogger sends gnet's log to the standard logger, which writes to
// stderr: gnet's default logger writes to stdout, where echoserver's first
// line must be its address.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any)             {} // gnet's default level is INFO
func (gnetLogger) Infof(format string, args ...any)  { log.Printf("gnet: "+format, args...) }
func (gnetLogger) Warnf(format string, args ...any)  { log.Printf("gnet: warning: "+format, args...) }
func (gnetLogger) Errorf(format string, args ...any) { log.Printf("gnet: error: "+format, args...) }
func (gnetLogger) Fatalf(format string, args ...any) { log.Fatalf("gnet: fatal: "+format, args...) }

// gnetEcho is the event handler. booted receives the Engine once gnet
// serves.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (h *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	h.booted <- eng
	return gnet.None
}

func (h *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

func startGnet(addr string) (Server, error) {
	h := &gnetEcho{booted: make(chan gnet.Engine, 1)}
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(h, "tcp://"+addr,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
			gnet.WithLogger(gnetLogger{}))
	}()
	var eng gnet.Engine
	select {
	case eng = <-h.booted:
	case err := <-done:
		if err == nil {
			err = errors.New("gnet.Run returned before it served")
		}
		return nil, err
	}
	bound, err := gnetListenAddr(eng)
	if err != nil {
		_ = stopGnet(eng, done)
		return nil, err
	}
	return &server{addr: bound, stop: func() error { return stopGnet(eng, done) }}, nil
}

// gnetListenAddr asks the kernel which address gnet's listener is bound to,
// through a duplicate of its descriptor: gnet reports only the address it
// was given, and port 0 must become the real port.
func gnetListenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	}
	return nil, errors.New("gnet listener: not a TCP address")
}

// stopGnet stops the engine, closing every connection, and waits for Run to
// return.
func stopGnet(eng gnet.Engine, done <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := eng.Stop(ctx)
	select {
	case runErr := <-done:
		return errors.Join(err, runErr)
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
}
