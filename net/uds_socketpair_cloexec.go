//go:build dragonfly || freebsd || illumos || linux || netbsd || openbsd

package net

import "golang.org/x/sys/unix"

// udsSocketpair opens a connected pair of Unix-domain sockets of type typ
// (SOCK_STREAM or SOCK_DGRAM), both non-blocking and close-on-exec from
// birth.
func udsSocketpair(typ int) (a, b *sock, err error) {
	// socketpair creates descriptors and never sleeps: no EINTR to retry.
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, wrapSys("socketpair", err)
	}
	return newSock(fds[0]), newSock(fds[1]), nil
}
