//go:build unix

package testutil

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireNonblockCloexec fails the test unless fd is O_NONBLOCK and
// FD_CLOEXEC.
func RequireNonblockCloexec(t testing.TB, fd int) {
	t.Helper()
	fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("fcntl(%d, F_GETFD): %v", fd, err)
	}
	if fdFlags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("fd %d is not FD_CLOEXEC (flags %#x)", fd, fdFlags)
	}
	flFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatalf("fcntl(%d, F_GETFL): %v", fd, err)
	}
	if flFlags&unix.O_NONBLOCK == 0 {
		t.Fatalf("fd %d is not O_NONBLOCK (flags %#x)", fd, flFlags)
	}
}

// OpenFds counts the process's open descriptors from /proc/self/fd (or
// /dev/fd where there is no /proc). The directory read itself holds one
// descriptor, the same one each time, so counts compare fairly.
func OpenFds(t testing.TB) int {
	t.Helper()
	dir := "/proc/self/fd"
	if runtime.GOOS != "linux" {
		dir = "/dev/fd"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return len(entries)
}
