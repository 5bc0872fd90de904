package echo

// std is the baseline: Go's net package with a goroutine per connection,
// each blocking in Read and then Write on one buffer, as io.Copy would.

import (
	"errors"
	"net"
	"sync"
)

func startStd(addr string) (Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &stdServer{ln: ln, conns: make(map[net.Conn]struct{})}
	s.wg.Go(s.acceptLoop)
	return &server{addr: ln.Addr(), stop: s.close}, nil
}

// stdServer tracks its connections so that close can close them.
type stdServer struct {
	ln net.Listener
	wg sync.WaitGroup // the accept loop and every connection's goroutine

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *stdServer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // EMFILE or an aborted handshake: serve the others
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(c) })
	}
}

// serve echoes c until the peer closes it or an error occurs.
func (s *stdServer) serve(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *stdServer) close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
