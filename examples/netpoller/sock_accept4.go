//go:build dragonfly || freebsd || illumos || linux

package main

import "golang.org/x/sys/unix"

// socket opens a socket that is non-blocking and close-on-exec from birth.
func socket(family, typ, proto int) (int, error) {
	return unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
}

// accept takes one connection off the listener lfd as a non-blocking,
// close-on-exec descriptor, or returns EAGAIN when none is waiting.
func accept(lfd int) (int, error) {
	fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	return fd, err
}
