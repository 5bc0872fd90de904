//go:build unix && !(dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package net

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeCloexecNonblock opens a pipe whose two ends are non-blocking and
// close-on-exec. Without pipe2 (macOS, AIX) the flags are set after pipe
// returns, while holding syscall.ForkLock for reading: os/exec takes it for
// writing around fork, so no child started through Go can inherit the
// descriptors before they are close-on-exec. fds[0] reads, fds[1] writes.
func pipeCloexecNonblock(fds *[2]int) error {
	syscall.ForkLock.RLock()
	err := unix.Pipe(fds[:])
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return os.NewSyscallError("pipe", err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return os.NewSyscallError("fcntl(O_NONBLOCK)", err)
		}
	}
	return nil
}
