//go:build unix && !(dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package net

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// udsSocketpair opens a connected pair of Unix-domain sockets of type typ
// (SOCK_STREAM or SOCK_DGRAM), both non-blocking and close-on-exec. macOS
// has no SOCK_NONBLOCK|SOCK_CLOEXEC, so the flags are set with fcntl while
// syscall.ForkLock is held for reading: os/exec cannot fork in between.
func udsSocketpair(typ int) (a, b *sock, err error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err != nil {
		return nil, nil, wrapSys("socketpair", err)
	}
	for _, fd := range fds {
		if err = setNonblockCloexec(fd); err == nil {
			err = setNoSigpipe(fd)
		}
		if err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return nil, nil, err
		}
	}
	return newSock(fds[0]), newSock(fds[1]), nil
}
