package net

import "golang.org/x/sys/unix"

// soLinger is SO_LINGER, whose l_linger counts seconds.
const soLinger = unix.SO_LINGER

// setKeepAliveIdle sets TCP_KEEPIDLE, the idle seconds before the first
// keep-alive probe.
func setKeepAliveIdle(fd, secs int) error {
	return wrapSys("setsockopt(TCP_KEEPIDLE)", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs))
}

// Linux takes IP_MULTICAST_LOOP and IP_MULTICAST_TTL as an int.

func setIPv4ByteOpt(fd, opt, v int) error {
	return wrapSys("setsockopt", unix.SetsockoptInt(fd, unix.IPPROTO_IP, opt, v))
}

func getIPv4ByteOpt(fd, opt int) (int, error) {
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_IP, opt)
	return v, wrapSys("getsockopt", err)
}
