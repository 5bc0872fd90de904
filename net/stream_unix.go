//go:build unix

package net

import (
	"fmt"
	stdnet "net"
	"net/netip"
	"os"
	"strings"
	"syscall"
)

// This file opens the stream sockets under Listener and Conn: it turns a
// network and an address as Go's net package takes them into a raw socket
// of this package, and names the ends as Go's net package names them.

// listenStream opens a listening socket for network ("tcp", "tcp4",
// "tcp6" or "unix") on address.
func listenStream(network, address string, lc ListenConfig) (*sock, stdnet.Addr, error) {
	if network == "unix" {
		l, err := ListenUnix(address)
		if err != nil {
			return nil, nil, err
		}
		return l.s, &stdnet.UnixAddr{Name: address, Net: "unix"}, nil
	}
	ap, err := resolveTCP(network, address, true)
	if err != nil {
		return nil, nil, err
	}
	s, err := listenTCP(ap, lc.ReusePort, lc.Backlog)
	if err != nil && ap.Addr() == netip.IPv6Unspecified() && network == "tcp" {
		// No IPv6 here: listen on every IPv4 address instead.
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
		s, err = listenTCP(ap, lc.ReusePort, lc.Backlog)
	}
	if err != nil {
		return nil, nil, err
	}
	local, err := s.localAddrPort()
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, stdnet.TCPAddrFromAddrPort(local), nil
}

// connectStream starts connecting to address; the connection completes
// when the socket turns writable (see sock.connect).
func connectStream(network, address string) (*sock, error) {
	if network == "unix" {
		c, err := ConnectUnix(address)
		if err != nil {
			return nil, err
		}
		return c.s, nil
	}
	ap, err := resolveTCP(network, address, false)
	if err != nil {
		return nil, err
	}
	return connectTCP(ap)
}

// acceptStream takes one pending connection off l, or ErrWouldBlock. It
// returns the connection's local and remote addresses too: the remote one
// from accept itself, the local one from getsockname.
func acceptStream(l *sock, unixNet bool) (s *sock, local, remote stdnet.Addr, err error) {
	if unixNet {
		s, sa, err := l.accept()
		if err != nil {
			return nil, nil, nil, err
		}
		lp, _ := udsLocalPath(s)
		rp, _ := udsAcceptedPeer(s.fd, sa)
		return s, &stdnet.UnixAddr{Name: lp, Net: "unix"}, &stdnet.UnixAddr{Name: rp, Net: "unix"}, nil
	}
	s, ra, err := l.acceptInet()
	if err != nil {
		return nil, nil, nil, err
	}
	la, _ := s.localAddrPort()
	return s, stdnet.TCPAddrFromAddrPort(la), stdnet.TCPAddrFromAddrPort(ra), nil
}

// streamAddrs names both ends of a connected stream socket.
func streamAddrs(s *sock, unixNet bool) (local, remote stdnet.Addr) {
	if unixNet {
		lp, _ := udsLocalPath(s)
		rp, _ := udsPeerPath(s)
		return &stdnet.UnixAddr{Name: lp, Net: "unix"}, &stdnet.UnixAddr{Name: rp, Net: "unix"}
	}
	la, _ := s.localAddrPort()
	ra, _ := s.peerAddrPort()
	return stdnet.TCPAddrFromAddrPort(la), stdnet.TCPAddrFromAddrPort(ra)
}

// removeUnixSocket removes the file a Unix listener was bound to, as Go's
// net does when its listener closes. Abstract names have no file.
func removeUnixSocket(path string) {
	if path != "" && !strings.HasPrefix(path, "@") {
		_ = os.Remove(path)
	}
}

// resolveTCP resolves address for network. An empty host means every
// address when listening ([::], which also takes IPv4 on a dual-stack
// host; 0.0.0.0 for tcp4) and this host when dialing.
func resolveTCP(network, address string, listen bool) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return netip.AddrPort{}, fmt.Errorf("metal/net: network %q: %w", network, stdnet.UnknownNetworkError(network))
	}
	ta, err := stdnet.ResolveTCPAddr(network, address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ta.IP == nil {
		unspecified := netip.IPv6Unspecified()
		if network == "tcp4" {
			unspecified = netip.IPv4Unspecified()
		}
		if !listen {
			unspecified = netip.IPv6Loopback()
			if network == "tcp4" {
				unspecified = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			}
		}
		return netip.AddrPortFrom(unspecified, uint16(ta.Port)), nil
	}
	ap := ta.AddrPort()
	if ap.Addr().Is4In6() {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap, nil
}

// isUnixNetwork reports a Unix-domain stream network.
func isUnixNetwork(network string) bool { return network == "unix" }

// errConnAborted is accept's error for a connection reset while it waited
// in the backlog.
var errConnAborted error = syscall.ECONNABORTED
