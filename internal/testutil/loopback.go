package testutil

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Loopback addresses with port 0: bind them and the kernel picks a port.
var (
	LoopbackV4 = netip.MustParseAddrPort("127.0.0.1:0")
	LoopbackV6 = netip.MustParseAddrPort("[::1]:0")
)

// HasIPv6Loopback reports whether [::1] can be bound on this machine.
func HasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// StdListener is a standard-library TCP listener on the loopback address
// of addr's family, closed when the test ends.
func StdListener(t testing.TB, addr netip.AddrPort) *net.TCPListener {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("listen %v: %v", addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// AddrOf returns the address a standard-library listener is bound to.
func AddrOf(l *net.TCPListener) netip.AddrPort {
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// Server runs a standard-library TCP server on a loopback address in
// goroutines of its own: it accepts connections and hands each to a
// handler. Wait returns once the handlers have returned and reports the
// first error one of them returned.
type Server struct {
	Addr netip.AddrPort
	l    *net.TCPListener
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

// StartServer accepts n connections on addr's loopback family and runs
// handle on each in turn, in a goroutine; the listener closes after the
// n-th. Everything is torn down when the test ends.
func StartServer(t testing.TB, addr netip.AddrPort, n int, handle func(c *net.TCPConn) error) *Server {
	t.Helper()
	l := StdListener(t, addr)
	s := &Server{Addr: AddrOf(l), l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer l.Close()
		for range n {
			c, err := l.AcceptTCP()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					s.fail(err)
				}
				return
			}
			err = handle(c)
			c.Close()
			if err != nil {
				s.fail(err)
				return
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.wg.Wait()
	})
	return s
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Wait waits for the server to finish its connections and returns the
// first error a handler returned.
func (s *Server) Wait() error {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Echo is a Server handler that writes back everything it reads until the
// client closes its writing half. It gives up after EventTimeout of silence
// so a failing test cannot hang it.
func Echo(c *net.TCPConn) error {
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(EventTimeout))
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Hold is a Server handler that keeps the connection open until release is
// closed (or EventTimeout passes), then closes it.
func Hold(release <-chan struct{}) func(*net.TCPConn) error {
	return func(*net.TCPConn) error {
		select {
		case <-release:
		case <-time.After(EventTimeout):
		}
		return nil
	}
}
