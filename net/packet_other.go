//go:build !unix

package net

import (
	stdnet "net"
	"net/netip"
)

func listenPacket(string, string, ListenConfig) (*sock, stdnet.Addr, error) {
	return nil, nil, errUnsupported
}

func recvPacket(*sock, bool, []byte) (int, netip.AddrPort, string, error) {
	return 0, netip.AddrPort{}, "", errNoSock
}

func sendPacket(*sock, bool, []byte, netip.AddrPort, string) (int, error) { return 0, errNoSock }
