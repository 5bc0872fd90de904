//go:build !unix

package net

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	stdnet "net"

	"github.com/metalio/metal/poller"
)

// Outside Unix (Windows, for now) the types of this package exist so that
// code using them compiles everywhere, but no socket can be made: every
// constructor returns an error matching errors.ErrUnsupported, and the
// methods of a value that was never constructed return net.ErrClosed.

var errUnsupported = fmt.Errorf("metal/net: raw sockets on this platform: %w", errors.ErrUnsupported)

// sock stands in for the Unix socket; none is ever created.
type sock struct{}

func listenTCP(netip.AddrPort, bool, int) (*sock, error) { return nil, errUnsupported }
func connectTCP(netip.AddrPort) (*sock, error)           { return nil, errUnsupported }
func bindUDP(netip.AddrPort, bool) (*sock, error)        { return nil, errUnsupported }

type stdConn interface {
	SyscallConn() (syscall.RawConn, error)
	Close() error
}

func adoptStd(stdConn) (*sock, error)    { return nil, errUnsupported }
func adopt(stdConn, bool) (*sock, error) { return nil, errUnsupported }

var errNoSock = stdnet.ErrClosed

func (*sock) close() error                           { return errNoSock }
func (*sock) read([]byte) (int, error)               { return 0, errNoSock }
func (*sock) write([]byte) (int, error)              { return 0, errNoSock }
func (*sock) readv([][]byte) (int, error)            { return 0, errNoSock }
func (*sock) writev([][]byte) (int, error)           { return 0, errNoSock }
func (*sock) peek([]byte) (int, error)               { return 0, errNoSock }
func (*sock) shutdown(ShutdownHow) error             { return errNoSock }
func (*sock) takeError() error                       { return errNoSock }
func (*sock) localAddrPort() (netip.AddrPort, error) { return netip.AddrPort{}, errNoSock }
func (*sock) peerAddrPort() (netip.AddrPort, error)  { return netip.AddrPort{}, errNoSock }
func (*sock) connectInet(netip.AddrPort) error       { return errNoSock }

func (*sock) acceptInet() (*sock, netip.AddrPort, error) { return nil, netip.AddrPort{}, errNoSock }

func (*sock) Register(*poller.Registry, poller.Token, poller.Interest) error   { return errNoSock }
func (*sock) Reregister(*poller.Registry, poller.Token, poller.Interest) error { return errNoSock }
func (*sock) Deregister(*poller.Registry) error                                { return errNoSock }

func (*sock) setTTL(int) error                              { return errNoSock }
func (*sock) ttl() (int, error)                             { return 0, errNoSock }
func (*sock) setNoDelay(bool) error                         { return errNoSock }
func (*sock) noDelay() (bool, error)                        { return false, errNoSock }
func (*sock) setKeepAlive(bool) error                       { return errNoSock }
func (*sock) keepAlive() (bool, error)                      { return false, errNoSock }
func (*sock) setKeepAlivePeriod(time.Duration) error        { return errNoSock }
func (*sock) setLinger(int) error                           { return errNoSock }
func (*sock) linger() (int, error)                          { return 0, errNoSock }
func (*sock) setBroadcast(bool) error                       { return errNoSock }
func (*sock) broadcast() (bool, error)                      { return false, errNoSock }
func (*sock) setOnlyV6(bool) error                          { return errNoSock }
func (*sock) onlyV6() (bool, error)                         { return false, errNoSock }
func (*sock) setMulticastLoopV4(bool) error                 { return errNoSock }
func (*sock) multicastLoopV4() (bool, error)                { return false, errNoSock }
func (*sock) setMulticastLoopV6(bool) error                 { return errNoSock }
func (*sock) multicastLoopV6() (bool, error)                { return false, errNoSock }
func (*sock) setMulticastTTLV4(int) error                   { return errNoSock }
func (*sock) multicastTTLV4() (int, error)                  { return 0, errNoSock }
func (*sock) joinMulticastV4(netip.Addr, netip.Addr) error  { return errNoSock }
func (*sock) leaveMulticastV4(netip.Addr, netip.Addr) error { return errNoSock }
func (*sock) joinMulticastV6(netip.Addr, int) error         { return errNoSock }
func (*sock) leaveMulticastV6(netip.Addr, int) error        { return errNoSock }

func (*sock) recvFrom([]byte, bool) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, errNoSock
}
func (*sock) recv([]byte, bool) (int, error)             { return 0, errNoSock }
func (*sock) sendTo([]byte, netip.AddrPort) (int, error) { return 0, errNoSock }
func (*sock) send([]byte) (int, error)                   { return 0, errNoSock }
