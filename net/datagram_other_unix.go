//go:build unix && !linux

package net

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Outside Linux the datagram paths use x/sys's calls, which allocate a
// unix.Sockaddr per datagram with an address.

// sysRecvfrom is recvfrom(2) with the sender's address converted.
func sysRecvfrom(fd int, p []byte, flags int) (int, netip.AddrPort, error) {
	n, sa, err := unix.Recvfrom(fd, p, flags)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return n, addrPortOf(sa), nil
}

// sysRecv is recvfrom(2) without asking for the sender.
func sysRecv(fd int, p []byte, flags int) (int, error) {
	n, _, err := unix.Recvfrom(fd, p, flags)
	return n, err
}

// sysSendto is sendto(2) to ap, encoded for a socket of family. A datagram
// goes whole or not at all, so success means len(p) bytes.
func sysSendto(fd, family int, p []byte, ap netip.AddrPort) (int, error) {
	sa, err := sockaddrOf(family, ap)
	if err != nil {
		return 0, err
	}
	if err := unix.Sendto(fd, p, 0, sa); err != nil {
		return 0, err
	}
	return len(p), nil
}

// sysSend is send(2) on a connected socket.
func sysSend(fd int, p []byte) (int, error) {
	if err := unix.Sendto(fd, p, 0, nil); err != nil {
		return 0, err
	}
	return len(p), nil
}
