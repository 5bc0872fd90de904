//go:build unix

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// listenBacklog is the listen(2) backlog: room for a burst of connections
// that arrive faster than the accept callback runs.
const listenBacklog = 1024

// listenTCP opens a listening TCP socket on addr (host:port; an empty host
// is every IPv4 address) the way a framework that owns its descriptors
// does: socket, SO_REUSEADDR, bind, listen. The socket is non-blocking and
// close-on-exec. It returns the descriptor and the address it is bound to.
func listenTCP(addr string) (fd int, bound netip.AddrPort, err error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	ip := netip.IPv4Unspecified()
	if ta.IP != nil {
		a, ok := netip.AddrFromSlice(ta.IP)
		if !ok {
			return -1, netip.AddrPort{}, fmt.Errorf("listen %s: bad IP address", addr)
		}
		ip = a.Unmap()
	}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Port: ta.Port, Addr: ip.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: ta.Port, Addr: ip.As16()}
	}

	fd, err = socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	fail := func(op string, err error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, netip.AddrPort{}, os.NewSyscallError(op, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return fail("listen", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch got := got.(type) {
	case *unix.SockaddrInet4:
		bound = netip.AddrPortFrom(netip.AddrFrom4(got.Addr), uint16(got.Port))
	case *unix.SockaddrInet6:
		bound = netip.AddrPortFrom(netip.AddrFrom16(got.Addr), uint16(got.Port))
	}
	return fd, bound, nil
}
