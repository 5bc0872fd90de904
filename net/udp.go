package net

import (
	"net/netip"

	stdnet "net"

	"github.com/metalio/metal/poller"
)

// UDPSocket is a non-blocking UDP socket, the counterpart of mio's
// UdpSocket. It is a poller.Source; its receive and send methods return
// poller.ErrWouldBlock instead of waiting.
//
// Each receive takes one whole datagram. A buffer shorter than the
// datagram gets its first len(p) bytes and the rest is lost. A zero-length
// datagram is a datagram like any other: it makes the socket readable and
// is received as n == 0 with a nil error (there is no end of stream).
//
// An unconnected socket sends with SendTo and receives with RecvFrom. After
// Connect, Send and Recv talk to the one peer and the kernel drops
// datagrams from anyone else; Connect again to change peers.
//
// Addresses come back as the kernel reports them: on an IPv6 socket an IPv4
// peer appears as an IPv4-mapped address (::ffff:a.b.c.d); use Unmap to
// compare it with an IPv4 address.
//
// SendTo, RecvFrom, Send and Recv never allocate on Linux.
//
// A UDPSocket is safe for concurrent use.
type UDPSocket struct {
	s *sock
}

// BindUDP opens a UDP socket bound to addr. Port 0 picks a free port;
// LocalAddr tells which.
func BindUDP(addr netip.AddrPort) (*UDPSocket, error) {
	return ListenConfig{}.BindUDP(addr)
}

// BindUDP opens a UDP socket bound to addr with c's ReusePort option
// (Backlog does not apply to UDP).
func (c ListenConfig) BindUDP(addr netip.AddrPort) (*UDPSocket, error) {
	s, err := bindUDP(addr, c.ReusePort)
	if err != nil {
		return nil, err
	}
	return &UDPSocket{s: s}, nil
}

// UDPSocketFromStd takes over the socket of a standard-library UDP
// connection and closes c. See TCPStreamFromStd for how and why.
func UDPSocketFromStd(c *stdnet.UDPConn) (*UDPSocket, error) {
	if c == nil {
		return nil, errNilStd
	}
	s, err := adoptStd(c)
	if err != nil {
		return nil, err
	}
	return &UDPSocket{s: s}, nil
}

func (u *UDPSocket) sock() *sock {
	if u == nil {
		return nil
	}
	return u.s
}

// SendTo sends p as one datagram to addr and returns len(p). A socket
// whose send buffer is full returns poller.ErrWouldBlock.
func (u *UDPSocket) SendTo(p []byte, addr netip.AddrPort) (int, error) {
	return u.sock().sendTo(p, addr)
}

// RecvFrom receives one datagram into p and returns its length (at most
// len(p)) and its sender, or poller.ErrWouldBlock when none is queued.
func (u *UDPSocket) RecvFrom(p []byte) (int, netip.AddrPort, error) {
	return u.sock().recvFrom(p, false)
}

// PeekFrom is RecvFrom that leaves the datagram queued.
func (u *UDPSocket) PeekFrom(p []byte) (int, netip.AddrPort, error) {
	return u.sock().recvFrom(p, true)
}

// Send sends p as one datagram to the connected peer. On a socket that is
// not connected it fails with EDESTADDRREQ (ENOTCONN on some systems).
func (u *UDPSocket) Send(p []byte) (int, error) { return u.sock().send(p) }

// Recv receives one datagram without reporting its sender; on a connected
// socket, only the peer's datagrams arrive.
func (u *UDPSocket) Recv(p []byte) (int, error) { return u.sock().recv(p, false) }

// Peek is Recv that leaves the datagram queued.
func (u *UDPSocket) Peek(p []byte) (int, error) { return u.sock().recv(p, true) }

// Connect sets the socket's peer: Send and Recv use it, and datagrams from
// other addresses are dropped. It is immediate (no packet is sent) and may
// be called again to change peers.
func (u *UDPSocket) Connect(addr netip.AddrPort) error { return u.sock().connectInet(addr) }

// SetBroadcast sets SO_BROADCAST, which sending to a broadcast address
// needs.
func (u *UDPSocket) SetBroadcast(on bool) error { return u.sock().setBroadcast(on) }

// Broadcast returns the value of SO_BROADCAST.
func (u *UDPSocket) Broadcast() (bool, error) { return u.sock().broadcast() }

// JoinMulticastV4 joins the IPv4 multicast group on the interface whose
// address is iface; the unspecified address 0.0.0.0 (or the zero
// netip.Addr) lets the kernel pick the interface.
func (u *UDPSocket) JoinMulticastV4(group, iface netip.Addr) error {
	return u.sock().joinMulticastV4(group, iface)
}

// LeaveMulticastV4 leaves a group joined with JoinMulticastV4.
func (u *UDPSocket) LeaveMulticastV4(group, iface netip.Addr) error {
	return u.sock().leaveMulticastV4(group, iface)
}

// JoinMulticastV6 joins the IPv6 multicast group on the interface with
// index ifindex; 0 lets the kernel pick the interface.
func (u *UDPSocket) JoinMulticastV6(group netip.Addr, ifindex int) error {
	return u.sock().joinMulticastV6(group, ifindex)
}

// LeaveMulticastV6 leaves a group joined with JoinMulticastV6.
func (u *UDPSocket) LeaveMulticastV6(group netip.Addr, ifindex int) error {
	return u.sock().leaveMulticastV6(group, ifindex)
}

// SetMulticastLoopV4 sets IP_MULTICAST_LOOP: whether IPv4 multicast
// datagrams sent here are looped back to this host's members too.
func (u *UDPSocket) SetMulticastLoopV4(on bool) error { return u.sock().setMulticastLoopV4(on) }

// MulticastLoopV4 returns the value of IP_MULTICAST_LOOP.
func (u *UDPSocket) MulticastLoopV4() (bool, error) { return u.sock().multicastLoopV4() }

// SetMulticastLoopV6 sets IPV6_MULTICAST_LOOP, the IPv6 counterpart of
// SetMulticastLoopV4.
func (u *UDPSocket) SetMulticastLoopV6(on bool) error { return u.sock().setMulticastLoopV6(on) }

// MulticastLoopV6 returns the value of IPV6_MULTICAST_LOOP.
func (u *UDPSocket) MulticastLoopV6() (bool, error) { return u.sock().multicastLoopV6() }

// SetMulticastTTLV4 sets IP_MULTICAST_TTL (0-255), how many hops IPv4
// multicast datagrams sent here may travel; 1, the default, keeps them on
// the local network.
func (u *UDPSocket) SetMulticastTTLV4(ttl int) error { return u.sock().setMulticastTTLV4(ttl) }

// MulticastTTLV4 returns the value of IP_MULTICAST_TTL.
func (u *UDPSocket) MulticastTTLV4() (int, error) { return u.sock().multicastTTLV4() }

// SetTTL sets the time-to-live of outgoing unicast datagrams (IP_TTL; the
// unicast hop limit on an IPv6 socket).
func (u *UDPSocket) SetTTL(ttl int) error { return u.sock().setTTL(ttl) }

// TTL returns the value SetTTL sets.
func (u *UDPSocket) TTL() (int, error) { return u.sock().ttl() }

// SetOnlyV6 sets IPV6_V6ONLY on an IPv6 socket: true refuses IPv4 traffic
// (IPv4-mapped addresses). The kernel consults it only when the socket is
// bound, and BindUDP binds at once, so on a socket from BindUDP it comes
// too late: Linux refuses the change (EINVAL) and other systems may accept
// it without effect. Bind "[::]:port" for dual-stack or "0.0.0.0:port" for
// IPv4 alone instead. On an IPv4 socket it fails.
func (u *UDPSocket) SetOnlyV6(on bool) error { return u.sock().setOnlyV6(on) }

// OnlyV6 returns the value of IPV6_V6ONLY.
func (u *UDPSocket) OnlyV6() (bool, error) { return u.sock().onlyV6() }

// LocalAddr returns the address the socket is bound to.
func (u *UDPSocket) LocalAddr() (netip.AddrPort, error) { return u.sock().localAddrPort() }

// PeerAddr returns the connected peer; ENOTCONN when not connected.
func (u *UDPSocket) PeerAddr() (netip.AddrPort, error) { return u.sock().peerAddrPort() }

// TakeError returns and clears the socket's pending error (SO_ERROR), such
// as ECONNREFUSED after a datagram to a closed port on a connected socket;
// nil when there is none.
func (u *UDPSocket) TakeError() error { return u.sock().takeError() }

// Close closes the socket. A second Close returns an error matching
// net.ErrClosed, as does every other method after Close.
func (u *UDPSocket) Close() error { return u.sock().close() }

// Register implements poller.Source.
func (u *UDPSocket) Register(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return u.sock().Register(r, t, i)
}

// Reregister implements poller.Source.
func (u *UDPSocket) Reregister(r *poller.Registry, t poller.Token, i poller.Interest) error {
	return u.sock().Reregister(r, t, i)
}

// Deregister implements poller.Source.
func (u *UDPSocket) Deregister(r *poller.Registry) error { return u.sock().Deregister(r) }
