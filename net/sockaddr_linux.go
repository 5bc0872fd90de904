package net

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the datagram paths talk to the kernel directly: x/sys's Recvfrom
// and Sendto convert through the unix.Sockaddr interface, which costs an
// allocation per datagram. Here the kernel's sockaddr lives on the stack and
// is converted to and from netip.AddrPort by hand.

// rawInet holds either kind of Internet sockaddr: sockaddr_in6 is the larger.
type rawInet = unix.RawSockaddrInet6

// putPort stores port in network byte order, as sin_port wants it.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0] = byte(port >> 8)
	b[1] = byte(port)
}

// getPort reads a port stored in network byte order.
func getPort(src *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(src))
	return uint16(b[0])<<8 | uint16(b[1])
}

// encodeRaw fills raw with ap as a socket of family expects it and returns
// the sockaddr's length. It allocates only for a zone given by name.
func encodeRaw(raw *rawInet, family int, ap netip.AddrPort) (uint32, error) {
	a, err := addrFor(family, ap)
	if err != nil {
		return 0, err
	}
	if family == unix.AF_INET {
		sin := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		sin.Family = unix.AF_INET
		putPort(&sin.Port, ap.Port())
		sin.Addr = a.As4()
		return unix.SizeofSockaddrInet4, nil
	}
	zone, err := zoneIndex(a.Zone())
	if err != nil {
		return 0, err
	}
	raw.Family = unix.AF_INET6
	putPort(&raw.Port, ap.Port())
	raw.Addr = a.As16()
	raw.Scope_id = zone
	return unix.SizeofSockaddrInet6, nil
}

// decodeRaw reads the Internet address the kernel stored in raw. It
// allocates only for a non-zero IPv6 scope id (a link-local peer).
func decodeRaw(raw *unix.RawSockaddrAny) netip.AddrPort {
	switch raw.Addr.Family {
	case unix.AF_INET:
		sin := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(sin.Addr), getPort(&sin.Port))
	case unix.AF_INET6:
		sin6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
		a := netip.AddrFrom16(sin6.Addr)
		if sin6.Scope_id != 0 {
			a = a.WithZone(zoneName(sin6.Scope_id))
		}
		return netip.AddrPortFrom(a, getPort(&sin6.Port))
	}
	return netip.AddrPort{}
}

// zeroByte stands in for the buffer of an empty datagram: the kernel wants
// a valid pointer even for length zero.
var zeroByte byte

func bufPtr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return unsafe.Pointer(&zeroByte)
	}
	return unsafe.Pointer(&p[0])
}

// sysRecvfrom is recvfrom(2) with the sender's address converted in place.
// EINTR and EAGAIN come back as errnos for the caller to handle.
func sysRecvfrom(fd int, p []byte, flags int) (int, netip.AddrPort, error) {
	var raw unix.RawSockaddrAny
	rawLen := uint32(unix.SizeofSockaddrAny)
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)),
		uintptr(flags), uintptr(unsafe.Pointer(&raw)), uintptr(unsafe.Pointer(&rawLen)))
	if e != 0 {
		return 0, netip.AddrPort{}, e
	}
	return int(n), decodeRaw(&raw), nil
}

// sysRecv is recvfrom(2) without asking for the sender.
func sysRecv(fd int, p []byte, flags int) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)),
		uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// sysSendto is sendto(2) to ap, encoded for a socket of family.
func sysSendto(fd, family int, p []byte, ap netip.AddrPort) (int, error) {
	var raw rawInet
	rawLen, err := encodeRaw(&raw, family, ap)
	if err != nil {
		return 0, err
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)),
		0, uintptr(unsafe.Pointer(&raw)), uintptr(rawLen))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// sysSend is send(2) on a connected socket.
func sysSend(fd int, p []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
