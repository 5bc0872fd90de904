package net

import "golang.org/x/sys/unix"

// setNoSigpipe sets SO_NOSIGPIPE: macOS has no MSG_NOSIGNAL, and a write to a
// connection the peer has reset would otherwise raise SIGPIPE. (Go's runtime
// ignores SIGPIPE for descriptors other than 1 and 2, but a program built as
// a c-archive or c-shared library would not.)
func setNoSigpipe(fd int) error {
	return wrapSys("setsockopt(SO_NOSIGPIPE)", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1))
}
