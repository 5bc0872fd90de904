package peer

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
// stderr: gnet's default logger writes to stdout, where the server
// commands' first line must be their address.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any)             {} // gnet's default level is INFO
func (gnetLogger) Infof(format string, args ...any)  { log.Printf("gnet: "+format, args...) }
func (gnetLogger) Warnf(format string, args ...any)  { log.Printf("gnet: warning: "+format, args...) }
func (gnetLogger) Errorf(format string, args ...any) { log.Printf("gnet: error: "+format, args...) }
func (gnetLogger) Fatalf(format string, args ...any) { log.Fatalf("gnet: fatal: "+format, args...) }

// gnetBoot wraps a handler to learn the Engine once gnet serves.
type gnetBoot struct {
	gnet.EventHandler
	booted chan gnet.Engine
}

func (h *gnetBoot) OnBoot(eng gnet.Engine) gnet.Action {
	action := h.EventHandler.OnBoot(eng)
	h.booted <- eng
	return action
}

// StartGnet serves addr with github.com/panjf2000/gnet/v2 and the handler
// h, in multicore mode with GOMAXPROCS event loops (WithMulticore alone
// uses NumCPU, which is the same unless GOMAXPROCS was set), and any
// further options.
func StartGnet(addr string, h gnet.EventHandler, opts ...gnet.Option) (*Server, error) {
	boot := &gnetBoot{EventHandler: h, booted: make(chan gnet.Engine, 1)}
	opts = append([]gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
		gnet.WithLogger(gnetLogger{}),
	}, opts...)
	done := make(chan error, 1)
	go func() { done <- gnet.Run(boot, "tcp://"+addr, opts...) }()
	var eng gnet.Engine
	select {
	case eng = <-boot.booted:
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
	return &Server{addr: bound, stop: func() error { return stopGnet(eng, done) }}, nil
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
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := eng.Stop(ctx)
	select {
	case runErr := <-done:
		return errors.Join(err, runErr)
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
}
