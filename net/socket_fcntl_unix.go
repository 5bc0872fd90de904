//go:build unix && !(dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package net

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// sysSocket opens a socket on platforms without SOCK_NONBLOCK|SOCK_CLOEXEC
// (macOS): socket(2), then fcntl, with syscall.ForkLock held for reading
// throughout so that os/exec cannot fork between the two and leak the
// descriptor into a child.
func sysSocket(family, typ, proto int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	var fd int
	err := sysx.IgnoringEINTR(func() error {
		var err error
		fd, err = unix.Socket(family, typ, proto)
		return err
	})
	if err != nil {
		return -1, wrapSys("socket", err)
	}
	if err := setNonblockCloexec(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := setNoSigpipe(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
