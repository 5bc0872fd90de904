package net_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	"github.com/metalio/metal/poller"
)

// The hot paths allocate nothing on Linux. Each check runs a real round trip
// through loopback; the loops that wait for data to arrive are themselves
// allocation-free (ErrWouldBlock is a preallocated value).

// spinRead reads exactly len(p) bytes from read, retrying on
// ErrWouldBlock (loopback delivers within the writer's system call, so the
// retry is rare and short).
func spinRead(read func([]byte) (int, error), p []byte) error {
	for got := 0; got < len(p); {
		n, err := read(p[got:])
		got += n
		if err != nil && !errors.Is(err, poller.ErrWouldBlock) {
			return err
		}
	}
	return nil
}

func TestTCPHotPathsDoNotAllocate(t *testing.T) {
	client, server := connectedPair(t, testutil.LoopbackV4)
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	var bufs, msgs [][]byte
	for i := range 8 {
		msgs = append(msgs, msg[i*8:(i+1)*8])
		bufs = append(bufs, make([]byte, 8))
	}

	check := func(name string, fn func()) {
		t.Helper()
		require.Zero(t, testing.AllocsPerRun(1000, fn), name)
	}
	check("Write+Read", func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := spinRead(server.Read, buf); err != nil {
			t.Fatal(err)
		}
	})
	check("WriteV+ReadV with 8 buffers", func() {
		if n, err := client.WriteV(msgs); err != nil || n != len(msg) {
			t.Fatal(n, err)
		}
		for got := 0; got < len(msg); {
			// One readv gets all 64 bytes unless they arrive split;
			// then the rest goes through Read, also allocation-free.
			var n int
			var err error
			if got == 0 {
				n, err = server.ReadV(bufs)
			} else {
				n, err = server.Read(buf[:len(msg)-got])
			}
			got += n
			if err != nil && !errors.Is(err, poller.ErrWouldBlock) {
				t.Fatal(err)
			}
		}
	})
	check("Peek+Read", func() {
		if _, err := client.Write(msg[:1]); err != nil {
			t.Fatal(err)
		}
		if err := spinRead(server.Peek, buf[:1]); err != nil {
			t.Fatal(err)
		}
		if err := spinRead(server.Read, buf[:1]); err != nil {
			t.Fatal(err)
		}
	})
	check("Read that would block", func() {
		if _, err := server.Read(buf); !errors.Is(err, poller.ErrWouldBlock) {
			t.Fatal(err)
		}
	})
}

func TestUDPHotPathsDoNotAllocate(t *testing.T) {
	eachFamily(t, func(t *testing.T, addr netip.AddrPort) {
		s1, addr1 := bindUDP(t, addr)
		s2, addr2 := bindUDP(t, addr)
		msg := make([]byte, 64)
		buf := make([]byte, 64)
		check := func(name string, fn func()) {
			t.Helper()
			require.Zero(t, testing.AllocsPerRun(1000, fn), name)
		}
		recvFrom := func(recv func([]byte) (int, netip.AddrPort, error)) {
			for {
				n, from, err := recv(buf)
				if errors.Is(err, poller.ErrWouldBlock) {
					continue
				}
				if err != nil || n != len(msg) || from != addr1 {
					t.Fatal(n, from, err)
				}
				return
			}
		}
		check("SendTo+PeekFrom+RecvFrom", func() {
			if _, err := s1.SendTo(msg, addr2); err != nil {
				t.Fatal(err)
			}
			recvFrom(s2.PeekFrom)
			recvFrom(s2.RecvFrom)
		})
		check("RecvFrom that would block", func() {
			if _, _, err := s2.RecvFrom(buf); !errors.Is(err, poller.ErrWouldBlock) {
				t.Fatal(err)
			}
		})
		require.NoError(t, s1.Connect(addr2))
		check("Send+Peek+Recv", func() {
			if _, err := s1.Send(msg); err != nil {
				t.Fatal(err)
			}
			if err := spinRead(s2.Peek, buf); err != nil {
				t.Fatal(err)
			}
			if err := spinRead(s2.Recv, buf); err != nil {
				t.Fatal(err)
			}
		})
	})
}
