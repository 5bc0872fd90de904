//go:build unix && !linux

package net

import "golang.org/x/sys/unix"

// sendNoSignal writes p to the socket fd. macOS sockets carry
// SO_NOSIGPIPE (nosigpipe_darwin.go); elsewhere a write to a peer that has
// gone raises a SIGPIPE, which Go's runtime ignores for every descriptor
// but 1 and 2, and fails with EPIPE.
func sendNoSignal(fd int, p []byte) (int, error) { return unix.Write(fd, p) }
