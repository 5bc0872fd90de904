//go:build unix

package poller

import (
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timeoutMillis turns a Poll timeout into the kernel's milliseconds: -1 for
// no limit, 0 for no wait, and otherwise the duration rounded up, so that a
// timeout under a millisecond waits one instead of spinning.
func timeoutMillis(d time.Duration) int {
	switch {
	case d < 0:
		return -1
	case d == 0:
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(ms)
}

// dupCloexec duplicates fd onto the lowest free number from 3 up, close-on-exec.
// The lower bound is fcntl's third argument and must be passed: leave it out
// and the kernel reads whatever the register held.
func dupCloexec(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, wrapSys("fcntl(F_DUPFD_CLOEXEC)", err)
	}
	return nfd, nil
}

// wrapSys names the system call that failed; errors.Is still sees the errno.
func wrapSys(name string, err error) error { return os.NewSyscallError(name, err) }
