//go:build dragonfly || freebsd || illumos || linux || netbsd || openbsd

package net

import (
	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// sysSocket opens a socket with SOCK_NONBLOCK|SOCK_CLOEXEC, so the socket is
// never, even for an instant, inheritable by a child process.
func sysSocket(family, typ, proto int) (int, error) {
	var fd int
	err := sysx.IgnoringEINTR(func() error {
		var err error
		fd, err = unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		return err
	})
	if err != nil {
		return -1, wrapSys("socket", err)
	}
	return fd, nil
}
