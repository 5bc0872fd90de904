package peer

import (
	"errors"
	"net"
	"sync"
)

// StartStd serves addr with Go's net and a goroutine per connection, each
// running serve, which returns when it is done with the connection.
// StartStd closes the connection after serve returns, and every open
// connection when the server is closed.
func StartStd(addr string, serve func(net.Conn)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &stdServer{ln: ln, serve: serve, conns: make(map[net.Conn]struct{})}
	s.wg.Go(s.acceptLoop)
	return &Server{addr: ln.Addr(), stop: s.close}, nil
}

// stdServer tracks its connections so that close can close them.
type stdServer struct {
	ln    net.Listener
	serve func(net.Conn)
	wg    sync.WaitGroup // the accept loop and every connection's goroutine

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
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serve(c)
		})
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
