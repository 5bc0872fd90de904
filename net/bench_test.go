//go:build unix

package net_test

// Hot paths of metal's raw sockets beside Go's own net package, on loopback
// and on one goroutine, so that one run gives the ratio:
//
//	go test -run='^$' -bench=. -benchmem ./net/
//
// metal never waits (ErrWouldBlock is retried in place; on loopback the data
// is there by the time the writer's system call returns, so the retry is
// rare), while Go's net parks in its poller when it must wait.

import (
	"errors"
	"io"
	"net"
	"testing"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

const benchMsg = 64

// benchStreams returns a connected pair of metal streams.
func benchStreams(b *testing.B) (client, server *metalnet.TCPStream) {
	b.Helper()
	l, err := metalnet.ListenTCP(testutil.LoopbackV4)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	addr, err := l.LocalAddr()
	if err != nil {
		b.Fatal(err)
	}
	client, err = metalnet.ConnectTCP(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	p, events := testutil.NewPoll(b)
	if err := p.Registry().Register(l, 1, poller.Readable); err != nil {
		b.Fatal(err)
	}
	for {
		s, _, err := l.Accept()
		if err == nil {
			b.Cleanup(func() { s.Close() })
			return client, s
		}
		if !errors.Is(err, poller.ErrWouldBlock) {
			b.Fatal(err)
		}
		testutil.ExpectEvents(b, p, events, testutil.Expect(1, testutil.Readable))
	}
}

// benchStdConns returns a connected pair of Go net TCP connections.
func benchStdConns(b *testing.B) (client, server *net.TCPConn) {
	b.Helper()
	l := testutil.StdListener(b, testutil.LoopbackV4)
	client, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	server, err = l.AcceptTCP()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { server.Close() })
	return client, server
}

// readSpin reads len(p) bytes, retrying in place on ErrWouldBlock.
func readSpin(b *testing.B, read func([]byte) (int, error), p []byte) {
	for got := 0; got < len(p); {
		n, err := read(p[got:])
		got += n
		if err != nil && !errors.Is(err, poller.ErrWouldBlock) {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCPWriteRead64 writes 64 bytes on one end of a loopback
// connection and reads them on the other.
func BenchmarkTCPWriteRead64(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		client, server := benchStreams(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
			readSpin(b, server.Read, buf)
		}
	})
	b.Run("stdnet", func(b *testing.B) {
		client, server := benchStdConns(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(server, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTCPPingPong64 sends 64 bytes each way: client to server and
// back, four system calls per round trip.
func BenchmarkTCPPingPong64(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		client, server := benchStreams(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(2 * benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
			readSpin(b, server.Read, buf)
			if _, err := server.Write(buf); err != nil {
				b.Fatal(err)
			}
			readSpin(b, client.Read, buf)
		}
	})
	b.Run("stdnet", func(b *testing.B) {
		client, server := benchStdConns(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(2 * benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(server, buf); err != nil {
				b.Fatal(err)
			}
			if _, err := server.Write(buf); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(client, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTCPWriteV8 writes eight 8-byte buffers with one writev and reads
// the 64 bytes back; Go's net does the write with net.Buffers, its writev.
func BenchmarkTCPWriteV8(b *testing.B) {
	mkBufs := func() [][]byte {
		bufs := make([][]byte, 8)
		for i := range bufs {
			bufs[i] = make([]byte, 8)
		}
		return bufs
	}
	b.Run("metal", func(b *testing.B) {
		client, server := benchStreams(b)
		msgs, bufs := mkBufs(), mkBufs()
		buf := make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.WriteV(msgs); err != nil {
				b.Fatal(err)
			}
			n, err := server.ReadV(bufs)
			if err != nil && !errors.Is(err, poller.ErrWouldBlock) {
				b.Fatal(err)
			}
			readSpin(b, server.Read, buf[n:])
		}
	})
	b.Run("stdnet", func(b *testing.B) {
		client, server := benchStdConns(b)
		msgs := mkBufs()
		buf := make([]byte, benchMsg)
		// WriteTo consumes its receiver, niling the buffers it wrote, so
		// each round writes from a fresh copy of the slice headers.
		backing := make(net.Buffers, len(msgs))
		var nb net.Buffers
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			nb = append(backing[:0], msgs...)
			if _, err := nb.WriteTo(client); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(server, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUDPSendToRecvFrom64 sends a 64-byte datagram between two
// unconnected loopback sockets and receives it with its sender's address.
func BenchmarkUDPSendToRecvFrom64(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		s1, s2 := metalUDPPair(b)
		addr2, _ := s2.LocalAddr()
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s1.SendTo(msg, addr2); err != nil {
				b.Fatal(err)
			}
			readSpin(b, func(p []byte) (int, error) {
				n, _, err := s2.RecvFrom(p)
				return n, err
			}, buf)
		}
	})
	b.Run("stdnet", func(b *testing.B) {
		s1, s2 := stdUDPPair(b)
		addr2 := s2.LocalAddr().(*net.UDPAddr).AddrPort()
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s1.WriteToUDPAddrPort(msg, addr2); err != nil {
				b.Fatal(err)
			}
			if _, _, err := s2.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUDPSendRecv64 sends a 64-byte datagram between two connected
// loopback sockets.
func BenchmarkUDPSendRecv64(b *testing.B) {
	b.Run("metal", func(b *testing.B) {
		s1, s2 := metalUDPPair(b)
		addr1, _ := s1.LocalAddr()
		addr2, _ := s2.LocalAddr()
		if err := s1.Connect(addr2); err != nil {
			b.Fatal(err)
		}
		if err := s2.Connect(addr1); err != nil {
			b.Fatal(err)
		}
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s1.Send(msg); err != nil {
				b.Fatal(err)
			}
			readSpin(b, s2.Recv, buf)
		}
	})
	b.Run("stdnet", func(b *testing.B) {
		a, bconn := stdConnectedUDP(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		b.SetBytes(benchMsg)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := bconn.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// metalUDPPair returns two unconnected metal UDP sockets on loopback.
func metalUDPPair(b *testing.B) (*metalnet.UDPSocket, *metalnet.UDPSocket) {
	b.Helper()
	open := func() *metalnet.UDPSocket {
		s, err := metalnet.BindUDP(testutil.LoopbackV4)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

func stdUDPPair(b *testing.B) (*net.UDPConn, *net.UDPConn) {
	b.Helper()
	open := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(testutil.LoopbackV4))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	return open(), open()
}

// stdConnectedUDP returns two Go net UDP sockets connected to each other.
// A UDPConn cannot be connected after it is bound, so the second socket
// takes a port that was just free: bind one to learn a port, close it, dial
// to that port from the first socket, and bind the second to it, connected
// back. Another process may grab the port in between; then try again.
func stdConnectedUDP(b *testing.B) (*net.UDPConn, *net.UDPConn) {
	b.Helper()
	for range 10 {
		probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(testutil.LoopbackV4))
		if err != nil {
			b.Fatal(err)
		}
		port := probe.LocalAddr().(*net.UDPAddr)
		probe.Close()
		a, err := net.DialUDP("udp", nil, port)
		if err != nil {
			b.Fatal(err)
		}
		c, err := net.DialUDP("udp", port, a.LocalAddr().(*net.UDPAddr))
		if err != nil {
			a.Close()
			continue
		}
		b.Cleanup(func() { a.Close(); c.Close() })
		return a, c
	}
	b.Fatal("no free UDP port to connect two sockets")
	return nil, nil
}
