//go:build unix

package runtime_test

import (
	"net"
	"net/netip"
	goruntime "runtime"
	"testing"
	"time"
)

func stdDial(addr netip.AddrPort) (*net.TCPConn, error) {
	return net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(addr))
}

// requireGoroutinesBackTo waits (up to 5 s) for the number of goroutines
// to fall back to n, and fails with their stacks if it does not.
func requireGoroutinesBackTo(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:goruntime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", goruntime.NumGoroutine(), n, buf)
		}
		time.Sleep(time.Millisecond)
	}
}
