//go:build unix

package net

import (
	stdnet "net"
	"net/netip"
)

// This file opens the datagram sockets under PacketConn and moves its
// datagrams: UDP through the Internet socket calls, Unix datagrams
// through UnixDatagram's.

// listenPacket opens a datagram socket for network ("udp", "udp4", "udp6"
// or "unixgram") bound to address.
func listenPacket(network, address string, lc ListenConfig) (*sock, stdnet.Addr, error) {
	if network == "unixgram" {
		d, err := BindUnixDatagram(address)
		if err != nil {
			return nil, nil, err
		}
		return d.s, &stdnet.UnixAddr{Name: address, Net: network}, nil
	}
	ap, err := resolveUDP(network, address)
	if err != nil {
		return nil, nil, err
	}
	s, err := bindUDP(ap, lc.ReusePort)
	if err != nil && ap.Addr() == netip.IPv6Unspecified() && network == "udp" {
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
		s, err = bindUDP(ap, lc.ReusePort)
	}
	if err != nil {
		return nil, nil, err
	}
	local, err := s.localAddrPort()
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, stdnet.UDPAddrFromAddrPort(local), nil
}

// recvPacket receives one datagram: its sender is ap for UDP, path for a
// Unix datagram.
func recvPacket(s *sock, unixNet bool, p []byte) (n int, ap netip.AddrPort, path string, err error) {
	if unixNet {
		n, path, err = (&UnixDatagram{s: s}).RecvFrom(p)
		return n, ap, path, err
	}
	n, ap, err = s.recvFrom(p, false)
	return n, ap, "", err
}

// sendPacket sends one datagram to ap (UDP) or path (Unix).
func sendPacket(s *sock, unixNet bool, p []byte, ap netip.AddrPort, path string) (int, error) {
	if unixNet {
		return (&UnixDatagram{s: s}).SendTo(p, path)
	}
	return s.sendTo(p, ap)
}

// resolveUDP resolves address for a UDP network; an empty host means
// every address.
func resolveUDP(network, address string) (netip.AddrPort, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return netip.AddrPort{}, stdnet.UnknownNetworkError(network)
	}
	ua, err := stdnet.ResolveUDPAddr(network, address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ua.IP == nil {
		if network == "udp4" {
			return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(ua.Port)), nil
		}
		return netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(ua.Port)), nil
	}
	ap := ua.AddrPort()
	if ap.Addr().Is4In6() {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap, nil
}
