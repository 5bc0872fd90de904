//go:build dragonfly || freebsd || linux || netbsd || openbsd || solaris

package net

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeCloexecNonblock opens a pipe whose two ends are non-blocking and
// close-on-exec from birth: pipe2 sets both flags in the same system call,
// so no fork can copy the descriptors in between. fds[0] reads, fds[1]
// writes.
func pipeCloexecNonblock(fds *[2]int) error {
	// pipe2 creates descriptors and never sleeps; it is not interrupted.
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	return nil
}
