//go:build unix

package net

import (
	"fmt"
	"net/netip"
	"strconv"

	stdnet "net"

	"golang.org/x/sys/unix"
)

// Conversions between netip.AddrPort and the kernel's socket addresses.
//
// Family rules, used by every socket of this package:
//   - A socket is AF_INET when opened for an IPv4 address (Is4) and AF_INET6
//     for anything else, including an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
//   - Going to the kernel, an IPv4 address on an AF_INET6 socket is sent in
//     its mapped form, and a mapped address on an AF_INET socket is unmapped;
//     a true IPv6 address on an AF_INET socket is an error.
//   - Coming from the kernel, an address is reported exactly as the kernel
//     gave it: an AF_INET6 socket reports IPv4 peers as mapped addresses
//     (compare with Unmap), an AF_INET socket reports plain IPv4.
//   - IPv6 zones travel as the scope id. A zone is looked up by name (or
//     parsed as a number) going out; a non-zero scope id coming in becomes the
//     interface's name, or its number if it has none. Only link-local
//     addresses carry zones, and only they pay for the lookup.

// familyOf returns the address family of the socket to open for ap.
func familyOf(ap netip.AddrPort) int {
	if ap.Addr().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// checkAddr rejects the zero netip.AddrPort and other invalid addresses.
func checkAddr(op string, ap netip.AddrPort) error {
	if !ap.IsValid() {
		return fmt.Errorf("metal/net: %s %v: %w", op, ap, ErrInvalidAddr)
	}
	return nil
}

// addrFor converts ap into the form a socket of the given family expects
// (see the family rules above).
func addrFor(family int, ap netip.AddrPort) (netip.Addr, error) {
	a := ap.Addr()
	switch family {
	case unix.AF_INET:
		if a.Is4In6() {
			a = a.Unmap()
		}
		if !a.Is4() {
			return netip.Addr{}, fmt.Errorf("metal/net: %v: IPv6 address on an IPv4 socket: %w", ap, ErrInvalidAddr)
		}
	case unix.AF_INET6:
		if a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
	}
	return a, nil
}

// sockaddrOf converts ap into an x/sys Sockaddr for a socket of family. It
// allocates; the per-datagram paths on Linux use the raw forms instead.
func sockaddrOf(family int, ap netip.AddrPort) (unix.Sockaddr, error) {
	a, err := addrFor(family, ap)
	if err != nil {
		return nil, err
	}
	if family == unix.AF_INET {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	zone, err := zoneIndex(a.Zone())
	if err != nil {
		return nil, err
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), ZoneId: zone, Addr: a.As16()}, nil
}

// addrPortOf converts an x/sys Sockaddr from the kernel into a
// netip.AddrPort; anything but an Internet address gives the zero value.
func addrPortOf(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			a = a.WithZone(zoneName(sa.ZoneId))
		}
		return netip.AddrPortFrom(a, uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// zoneIndex turns an IPv6 zone into a scope id: "" is 0, a number is
// itself, a name is that interface's index.
func zoneIndex(zone string) (uint32, error) {
	if zone == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := stdnet.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("metal/net: IPv6 zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}

// zoneName turns a scope id into the zone netip.Addr carries: the
// interface's name, or the number if the interface is unknown.
func zoneName(index uint32) string {
	if ifi, err := stdnet.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}
