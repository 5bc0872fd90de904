//go:build !unix

package net

import stdnet "net"

// Outside Unix no stream socket can be opened (see sock_other.go).

func listenStream(string, string, ListenConfig) (*sock, stdnet.Addr, error) {
	return nil, nil, errUnsupported
}
func connectStream(string, string) (*sock, error) { return nil, errUnsupported }
func acceptStream(*sock, bool) (s *sock, local, remote stdnet.Addr, err error) {
	return nil, nil, nil, errNoSock
}
func streamAddrs(*sock, bool) (local, remote stdnet.Addr) { return nil, nil }
func removeUnixSocket(string)                             {}
func isUnixNetwork(network string) bool                   { return network == "unix" }

var errConnAborted = errUnsupported
