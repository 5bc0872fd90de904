package net

import "errors"

// ErrInvalidAddr reports an address a socket cannot use: the zero
// netip.AddrPort, an invalid netip.Addr, or an IPv6 address given to an IPv4
// socket. Test for it with errors.Is.
var ErrInvalidAddr = errors.New("invalid address")

// errNilStd reports a nil standard-library value given for adoption.
var errNilStd = errors.New("metal/net: adopt: nil connection")
