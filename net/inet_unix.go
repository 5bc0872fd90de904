//go:build unix

package net

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// This file holds what TCP and UDP sockets share on Unix: opening a socket
// for an address, adopting a standard-library connection, addresses, and the
// IP-level options.

// defaultBacklog is the listen backlog when ListenConfig leaves it zero, as
// in mio. The kernel quietly caps it at its own maximum (somaxconn).
const defaultBacklog = 1024

// openInet opens a socket of typ for addr's family and runs setup on it
// before anything else happens to it. On error the socket is closed.
func openInet(addr netip.AddrPort, typ int, setup func(s *sock) error) (*sock, error) {
	s, err := newSocket(familyOf(addr), typ, 0)
	if err != nil {
		return nil, err
	}
	s.family = familyOf(addr)
	if err := setup(s); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// bindInet binds s to addr.
func (s *sock) bindInet(addr netip.AddrPort) error {
	sa, err := sockaddrOf(s.family, addr)
	if err != nil {
		return err
	}
	return s.bind(sa)
}

// connectInet starts connecting s to addr (see connect).
func (s *sock) connectInet(addr netip.AddrPort) error {
	if err := checkAddr("connect", addr); err != nil {
		return err
	}
	sa, err := sockaddrOf(s.family, addr)
	if err != nil {
		return err
	}
	return s.connect(sa)
}

func listenTCP(addr netip.AddrPort, reusePort bool, backlog int) (*sock, error) {
	if err := checkAddr("listen", addr); err != nil {
		return nil, err
	}
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	return openInet(addr, unix.SOCK_STREAM, func(s *sock) error {
		// SO_REUSEADDR lets a restarted server bind while connections of
		// its previous life sit in TIME_WAIT.
		if err := s.setsockoptInt(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if reusePort {
			if err := s.setsockoptInt(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return err
			}
		}
		if err := s.bindInet(addr); err != nil {
			return err
		}
		return s.listen(backlog)
	})
}

func connectTCP(addr netip.AddrPort) (*sock, error) {
	if err := checkAddr("connect", addr); err != nil {
		return nil, err
	}
	return openInet(addr, unix.SOCK_STREAM, func(s *sock) error { return s.connectInet(addr) })
}

func bindUDP(addr netip.AddrPort, reusePort bool) (*sock, error) {
	if err := checkAddr("bind", addr); err != nil {
		return nil, err
	}
	return openInet(addr, unix.SOCK_DGRAM, func(s *sock) error {
		if reusePort {
			if err := s.setsockoptInt(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return err
			}
		}
		return s.bindInet(addr)
	})
}

// acceptInet accepts a connection on an Internet listener; the new socket
// has the listener's family.
func (s *sock) acceptInet() (*sock, netip.AddrPort, error) {
	ns, sa, err := s.accept()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	ns.family = s.family
	return ns, addrPortOf(sa), nil
}

// stdConn is what the standard library's TCPConn, TCPListener and UDPConn
// offer for adoption.
type stdConn interface {
	SyscallConn() (syscall.RawConn, error)
	Close() error
}

// adoptStd takes over c's socket: it duplicates the descriptor with
// F_DUPFD_CLOEXEC (lowest number 3 and up, close-on-exec from birth), makes
// the duplicate non-blocking, and closes c. See TCPStreamFromStd for why c
// must be closed. On error c is left as it was.
func adoptStd(c stdConn) (*sock, error) { return adopt(c, false) }

// adopt is adoptStd, taking Unix-domain sockets too when unixOK.
func adopt(c stdConn, unixOK bool) (*sock, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("metal/net: adopt: %w", err)
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
	}); err != nil {
		return nil, fmt.Errorf("metal/net: adopt: %w", err)
	}
	if dupErr != nil {
		return nil, wrapSys("fcntl(F_DUPFD_CLOEXEC)", dupErr)
	}
	// O_NONBLOCK lives in the open file description the two descriptors
	// share; Go set it already, and this says so for the duplicate too.
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, wrapSys("fcntl(F_SETFL)", err)
	}
	s := newSock(nfd)
	sa, err := s.localSockaddr()
	if err != nil {
		s.close()
		return nil, err
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
		s.family = unix.AF_INET
	case *unix.SockaddrInet6:
		s.family = unix.AF_INET6
	case *unix.SockaddrUnix:
		if !unixOK {
			s.close()
			return nil, fmt.Errorf("metal/net: adopt: not an Internet socket: %w", ErrInvalidAddr)
		}
	default:
		s.close()
		return nil, fmt.Errorf("metal/net: adopt: not an Internet socket: %w", ErrInvalidAddr)
	}
	// Close c: its descriptor leaves Go's own poller and the duplicate is
	// the only descriptor left for the socket. The socket stays open.
	if err := c.Close(); err != nil {
		s.close()
		return nil, fmt.Errorf("metal/net: adopt: close the standard library's descriptor: %w", err)
	}
	return s, nil
}

func (s *sock) localAddrPort() (netip.AddrPort, error) {
	sa, err := s.localSockaddr()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return addrPortOf(sa), nil
}

func (s *sock) peerAddrPort() (netip.AddrPort, error) {
	sa, err := s.peerSockaddr()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return addrPortOf(sa), nil
}

// setBool and getBool are setsockopt and getsockopt for boolean options.
func (s *sock) setBool(level, opt int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return s.setsockoptInt(level, opt, v)
}

func (s *sock) getBool(level, opt int) (bool, error) {
	v, err := s.getsockoptInt(level, opt)
	return v != 0, err
}

// withFd runs fn on the descriptor while holding a reference to it.
func (s *sock) withFd(fn func(fd int) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return fn(s.fd)
}

// ttlOpt is the option that TTL means for the socket's family: IP_TTL, or
// for IPv6 the unicast hop limit.
func (s *sock) ttlOpt() (level, opt int) {
	if s != nil && s.family == unix.AF_INET6 {
		return unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS
	}
	return unix.IPPROTO_IP, unix.IP_TTL
}

func (s *sock) setTTL(ttl int) error {
	level, opt := s.ttlOpt()
	return s.setsockoptInt(level, opt, ttl)
}

func (s *sock) ttl() (int, error) {
	level, opt := s.ttlOpt()
	return s.getsockoptInt(level, opt)
}

// TCP options.

func (s *sock) setNoDelay(on bool) error { return s.setBool(unix.IPPROTO_TCP, unix.TCP_NODELAY, on) }
func (s *sock) noDelay() (bool, error)   { return s.getBool(unix.IPPROTO_TCP, unix.TCP_NODELAY) }

func (s *sock) setKeepAlive(on bool) error {
	return s.setBool(unix.SOL_SOCKET, unix.SO_KEEPALIVE, on)
}
func (s *sock) keepAlive() (bool, error) { return s.getBool(unix.SOL_SOCKET, unix.SO_KEEPALIVE) }

// setKeepAlivePeriod sets the idle time before the first keep-alive probe,
// rounded up to whole seconds, at least one.
func (s *sock) setKeepAlivePeriod(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("metal/net: keep-alive period %v: must be positive", d)
	}
	secs := int((d + time.Second - 1) / time.Second)
	return s.withFd(func(fd int) error { return setKeepAliveIdle(fd, secs) })
}

func (s *sock) setLinger(sec int) error {
	l := unix.Linger{}
	if sec >= 0 {
		l.Onoff = 1
		l.Linger = int32(sec)
	}
	return s.withFd(func(fd int) error {
		return wrapSys("setsockopt(SO_LINGER)", unix.SetsockoptLinger(fd, unix.SOL_SOCKET, soLinger, &l))
	})
}

func (s *sock) linger() (int, error) {
	sec := -1
	err := s.withFd(func(fd int) error {
		l, err := unix.GetsockoptLinger(fd, unix.SOL_SOCKET, soLinger)
		if err != nil {
			return wrapSys("getsockopt(SO_LINGER)", err)
		}
		if l.Onoff != 0 {
			sec = int(l.Linger)
		}
		return nil
	})
	return sec, err
}

// Datagram I/O. None of these allocates on Linux.

// recvFrom receives one datagram with its sender; peek leaves it queued. A
// zero-length datagram gives n == 0 and a nil error.
func (s *sock) recvFrom(p []byte, peek bool) (int, netip.AddrPort, error) {
	if err := s.acquire(); err != nil {
		return 0, netip.AddrPort{}, err
	}
	defer s.release()
	flags := 0
	if peek {
		flags = unix.MSG_PEEK
	}
	var n int
	var from netip.AddrPort
	err := sysx.IgnoringEINTR(func() error {
		var err error
		n, from, err = sysRecvfrom(s.fd, p, flags)
		return err
	})
	if err != nil {
		return 0, netip.AddrPort{}, ioErr("recvfrom", err)
	}
	return n, from, nil
}

// recv is recvFrom without the sender.
func (s *sock) recv(p []byte, peek bool) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	flags := 0
	if peek {
		flags = unix.MSG_PEEK
	}
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return sysRecv(s.fd, p, flags) })
	if err != nil {
		return 0, ioErr("recv", err)
	}
	return n, nil
}

// sendTo sends p as one datagram to addr.
func (s *sock) sendTo(p []byte, addr netip.AddrPort) (int, error) {
	if !addr.IsValid() {
		return 0, checkAddr("sendto", addr)
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return sysSendto(s.fd, s.family, p, addr) })
	if err != nil {
		return 0, ioErr("sendto", err)
	}
	return n, nil
}

// send sends p as one datagram to the connected peer.
func (s *sock) send(p []byte) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	n, err := sysx.IgnoringEINTRIO(func() (int, error) { return sysSend(s.fd, p) })
	if err != nil {
		return 0, ioErr("send", err)
	}
	return n, nil
}

// UDP options.

func (s *sock) setBroadcast(on bool) error { return s.setBool(unix.SOL_SOCKET, unix.SO_BROADCAST, on) }
func (s *sock) broadcast() (bool, error)   { return s.getBool(unix.SOL_SOCKET, unix.SO_BROADCAST) }

func (s *sock) setOnlyV6(on bool) error { return s.setBool(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, on) }
func (s *sock) onlyV6() (bool, error)   { return s.getBool(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY) }

func (s *sock) setMulticastLoopV4(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return s.withFd(func(fd int) error { return setIPv4ByteOpt(fd, unix.IP_MULTICAST_LOOP, v) })
}

func (s *sock) multicastLoopV4() (bool, error) {
	var v int
	err := s.withFd(func(fd int) (err error) {
		v, err = getIPv4ByteOpt(fd, unix.IP_MULTICAST_LOOP)
		return err
	})
	return v != 0, err
}

func (s *sock) setMulticastTTLV4(ttl int) error {
	if ttl < 0 || ttl > 255 {
		return fmt.Errorf("metal/net: multicast TTL %d: out of range 0-255", ttl)
	}
	return s.withFd(func(fd int) error { return setIPv4ByteOpt(fd, unix.IP_MULTICAST_TTL, ttl) })
}

func (s *sock) multicastTTLV4() (int, error) {
	var v int
	err := s.withFd(func(fd int) (err error) {
		v, err = getIPv4ByteOpt(fd, unix.IP_MULTICAST_TTL)
		return err
	})
	return v, err
}

func (s *sock) setMulticastLoopV6(on bool) error {
	return s.setBool(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, on)
}

func (s *sock) multicastLoopV6() (bool, error) {
	return s.getBool(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP)
}

// membershipV4 joins (IP_ADD_MEMBERSHIP) or leaves (IP_DROP_MEMBERSHIP) an
// IPv4 multicast group on the interface with address iface (0.0.0.0: the
// kernel's choice).
func (s *sock) membershipV4(opt int, group, iface netip.Addr) error {
	if !group.Is4() && !group.Is4In6() {
		return fmt.Errorf("metal/net: multicast group %v: not IPv4: %w", group, ErrInvalidAddr)
	}
	if !iface.IsValid() {
		iface = netip.IPv4Unspecified()
	}
	if !iface.Is4() && !iface.Is4In6() {
		return fmt.Errorf("metal/net: multicast interface %v: not IPv4: %w", iface, ErrInvalidAddr)
	}
	mreq := unix.IPMreq{Multiaddr: group.Unmap().As4(), Interface: iface.Unmap().As4()}
	return s.withFd(func(fd int) error {
		return wrapSys("setsockopt", unix.SetsockoptIPMreq(fd, unix.IPPROTO_IP, opt, &mreq))
	})
}

// membershipV6 joins or leaves an IPv6 multicast group on the interface
// with index ifindex (0: the kernel's choice).
func (s *sock) membershipV6(opt int, group netip.Addr, ifindex int) error {
	if !group.Is6() || group.Is4In6() {
		return fmt.Errorf("metal/net: multicast group %v: not IPv6: %w", group, ErrInvalidAddr)
	}
	if ifindex < 0 {
		return fmt.Errorf("metal/net: multicast interface index %d: negative", ifindex)
	}
	mreq := unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifindex)}
	return s.withFd(func(fd int) error {
		return wrapSys("setsockopt", unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, opt, &mreq))
	})
}

func (s *sock) joinMulticastV4(group, iface netip.Addr) error {
	return s.membershipV4(unix.IP_ADD_MEMBERSHIP, group, iface)
}

func (s *sock) leaveMulticastV4(group, iface netip.Addr) error {
	return s.membershipV4(unix.IP_DROP_MEMBERSHIP, group, iface)
}

func (s *sock) joinMulticastV6(group netip.Addr, ifindex int) error {
	return s.membershipV6(unix.IPV6_JOIN_GROUP, group, ifindex)
}

func (s *sock) leaveMulticastV6(group netip.Addr, ifindex int) error {
	return s.membershipV6(unix.IPV6_LEAVE_GROUP, group, ifindex)
}
