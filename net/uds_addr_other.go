//go:build unix && !linux

package net

import (
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// Outside Linux, golang.org/x/sys decodes Unix-domain names correctly (the
// BSD sockaddr carries its own length, and an unnamed socket comes back with
// an empty path), so these are thin wrappers. RecvFrom allocates the
// sender's address object here, path or not.

func udsGetsockname(fd int) (string, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "", err
	}
	return udsPathOf(sa), nil
}

func udsGetpeername(fd int) (string, error) {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return "", err
	}
	return udsPathOf(sa), nil
}

// udsAcceptedPeer returns the path of the peer that accept reported.
func udsAcceptedPeer(_ int, sa unix.Sockaddr) (string, error) { return udsPathOf(sa), nil }

// udsRecvfrom receives one datagram and the path of its sender ("" for an
// unnamed sender).
func udsRecvfrom(fd int, p []byte) (int, string, error) {
	var from unix.Sockaddr
	n, err := sysx.IgnoringEINTRIO(func() (int, error) {
		n, sa, err := unix.Recvfrom(fd, p, 0)
		from = sa
		return n, err
	})
	if err != nil {
		return 0, "", err
	}
	return n, udsPathOf(from), nil
}
