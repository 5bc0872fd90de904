package net

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// soLinger is SO_LINGER, whose l_linger counts seconds.
const soLinger = unix.SO_LINGER

// setKeepAliveIdle fails: OpenBSD has no per-socket keep-alive idle time,
// only the system-wide sysctl net.inet.tcp.keepidle.
func setKeepAliveIdle(int, int) error {
	return fmt.Errorf("metal/net: keep-alive period on OpenBSD (only sysctl net.inet.tcp.keepidle): %w", errors.ErrUnsupported)
}
