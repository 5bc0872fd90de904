//go:build unix && !(dragonfly || freebsd || illumos || linux)

package net

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysAccept accepts where golang.org/x/sys offers no accept4 (macOS,
// NetBSD, OpenBSD): accept(2), then fcntl, under syscall.ForkLock so that
// no fork in between leaks the descriptor. EINTR comes back to the caller,
// which retries it.
func sysAccept(fd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, sa, err := unix.Accept(fd)
	if err != nil {
		return -1, nil, err
	}
	if err := setNonblockCloexec(nfd); err != nil {
		unix.Close(nfd)
		return -1, nil, err
	}
	if err := setNoSigpipe(nfd); err != nil {
		unix.Close(nfd)
		return -1, nil, err
	}
	return nfd, sa, nil
}
