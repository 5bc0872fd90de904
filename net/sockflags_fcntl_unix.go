//go:build unix && !(dragonfly || freebsd || illumos || linux)

package net

import "golang.org/x/sys/unix"

// setNonblockCloexec makes fd non-blocking and close-on-exec. It serves the
// platforms whose socket(2) or accept(2) cannot do so atomically; the caller
// holds syscall.ForkLock for reading from the moment fd was created, so no
// fork can copy fd into a child before FD_CLOEXEC is set.
func setNonblockCloexec(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return wrapSys("fcntl(F_SETFD)", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return wrapSys("fcntl(F_SETFL)", err)
	}
	return nil
}
