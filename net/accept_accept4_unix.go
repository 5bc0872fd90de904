//go:build dragonfly || freebsd || illumos || linux

package net

import "golang.org/x/sys/unix"

// sysAccept accepts with accept4(SOCK_NONBLOCK|SOCK_CLOEXEC): the new
// descriptor is born non-blocking and close-on-exec. EINTR comes back to
// the caller, which retries it.
func sysAccept(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}
