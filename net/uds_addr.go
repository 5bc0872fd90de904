//go:build unix

package net

import (
	"errors"
	"fmt"
	stdnet "net"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/poller"
)

// ErrPathTooLong reports a Unix-domain socket path longer than the kernel's
// sockaddr_un holds: 107 bytes on Linux, 103 on macOS and the BSDs (the
// array is one byte longer, for the terminating NUL). Bind in a short
// directory (os.MkdirTemp("", "x") rather than a deep t.TempDir(), say) or
// connect through a relative path from a nearby working directory.
var ErrPathTooLong = errors.New("unix socket path too long")

// udsMaxPath is the longest path sockaddr_un takes, leaving room for the
// NUL that ends a filesystem path.
const udsMaxPath = len(unix.RawSockaddrUnix{}.Path) - 1

// udsAbstractNamespace says whether the kernel has Linux's abstract
// namespace for Unix-domain names.
const udsAbstractNamespace = runtime.GOOS == "linux" || runtime.GOOS == "android"

// udsSockaddr checks a socket path and turns it into the kernel's address.
//
// A path beginning with "@" names a socket in Linux's abstract namespace:
// the "@" becomes the leading NUL byte, the name is not a file, and it
// vanishes with the last socket bound to it. Elsewhere "@" is an ordinary
// first character of a file name. An empty path binds to nothing in
// particular (Linux then picks an abstract name, see LocalAddr).
func udsSockaddr(op, path string) (*unix.SockaddrUnix, error) {
	if len(path) > udsMaxPath {
		return nil, fmt.Errorf("metal/net: %s %q: %d bytes, the limit is %d: %w",
			op, udsShortened(path), len(path), udsMaxPath, ErrPathTooLong)
	}
	// A NUL inside a filesystem path would silently cut it short. (On Linux
	// an abstract name, "@" or a raw leading NUL, may hold any byte.)
	abstract := udsAbstractNamespace && path != "" && (path[0] == '@' || path[0] == 0)
	if i := strings.IndexByte(path, 0); i >= 0 && !abstract {
		return nil, fmt.Errorf("metal/net: %s %q: NUL byte at offset %d: %w", op, path, i, unix.EINVAL)
	}
	return &unix.SockaddrUnix{Name: path}, nil
}

// udsShortened keeps error messages readable for absurdly long paths.
func udsShortened(path string) string {
	if len(path) <= 2*udsMaxPath {
		return path
	}
	return path[:udsMaxPath] + "..."
}

// udsPathOf returns the path in an address from golang.org/x/sys, or "" for
// an unnamed socket or an address that is not Unix-domain.
func udsPathOf(sa unix.Sockaddr) string {
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		return u.Name
	}
	return ""
}

// udsOpErr names the operation and the path in an error, keeping the
// cause for errors.Is. Would-block and net.ErrClosed pass through as they
// are, so that callers' fast comparisons (err == poller.ErrWouldBlock) and
// zero-allocation paths keep working.
func udsOpErr(op, path string, err error) error {
	if err == nil || err == poller.ErrWouldBlock || err == stdnet.ErrClosed {
		return err
	}
	return fmt.Errorf("metal/net: %s %q: %w", op, path, err)
}
