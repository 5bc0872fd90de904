//go:build dragonfly || freebsd || netbsd

package net

import "golang.org/x/sys/unix"

// soLinger is SO_LINGER, whose l_linger counts seconds.
const soLinger = unix.SO_LINGER

// setKeepAliveIdle sets TCP_KEEPIDLE, the idle seconds before the first
// keep-alive probe.
func setKeepAliveIdle(fd, secs int) error {
	return wrapSys("setsockopt(TCP_KEEPIDLE)", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs))
}
