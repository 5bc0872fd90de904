//go:build unix

package net

import (
	"errors"

	"golang.org/x/sys/unix"
)

// outOfResources reports an accept error that pauses the listener (see
// accept_backoff.go): the process or the system is out of descriptors, or
// the kernel out of memory for one more socket.
func outOfResources(err error) bool {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}
