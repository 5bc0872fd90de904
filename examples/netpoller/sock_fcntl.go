//go:build unix && !(dragonfly || freebsd || illumos || linux)

package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Where there is no SOCK_NONBLOCK|SOCK_CLOEXEC (macOS) or no accept4
// (NetBSD, OpenBSD in x/sys), the flags are set with fcntl after the call,
// holding syscall.ForkLock so that no fork in between leaks the descriptor
// into a child process.

// socket opens a non-blocking, close-on-exec socket.
func socket(family, typ, proto int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, typ, proto)
	if err != nil {
		return -1, err
	}
	if err := setFlags(fd); err != nil {
		return -1, err
	}
	return fd, nil
}

// accept takes one connection off the listener lfd as a non-blocking,
// close-on-exec descriptor, or returns EAGAIN when none is waiting.
func accept(lfd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, _, err := unix.Accept(lfd)
	if err != nil {
		return -1, err
	}
	if err := setFlags(fd); err != nil {
		return -1, err
	}
	return fd, nil
}

// setFlags makes fd non-blocking and close-on-exec, closing it on failure.
func setFlags(fd int) error {
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return err
	}
	return nil
}
