package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendNoSignal writes p to the socket fd with send(2) and MSG_NOSIGNAL:
// a peer that has gone makes it fail with EPIPE without raising SIGPIPE,
// which would reach a program that handles SIGPIPE itself (signal.Notify,
// or a C program hosting Go). It allocates nothing.
func sendNoSignal(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
