//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package net

import "golang.org/x/sys/unix"

// The BSDs (macOS included) take IP_MULTICAST_LOOP and IP_MULTICAST_TTL as
// a single byte (u_char).

func setIPv4ByteOpt(fd, opt, v int) error {
	return wrapSys("setsockopt", unix.SetsockoptByte(fd, unix.IPPROTO_IP, opt, byte(v)))
}

func getIPv4ByteOpt(fd, opt int) (int, error) {
	v, err := unix.GetsockoptByte(fd, unix.IPPROTO_IP, opt)
	return int(v), wrapSys("getsockopt", err)
}
