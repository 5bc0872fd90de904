package net

import "golang.org/x/sys/unix"

// soLinger is SO_LINGER_SEC: macOS's SO_LINGER counts clock ticks.
const soLinger = unix.SO_LINGER_SEC

// setKeepAliveIdle sets TCP_KEEPALIVE, macOS's name for the idle seconds
// before the first keep-alive probe.
func setKeepAliveIdle(fd, secs int) error {
	return wrapSys("setsockopt(TCP_KEEPALIVE)", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPALIVE, secs))
}
