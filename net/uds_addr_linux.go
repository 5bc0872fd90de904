package net

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/metalio/metal/internal/sysx"
)

// On Linux the Unix-domain names are read with raw system calls rather than
// golang.org/x/sys's Getsockname, Getpeername and Recvfrom, for two reasons:
//
//   - x/sys decodes an address without its length, so an unnamed socket
//     (which the kernel reports as the family alone) comes back as "@", the
//     abstract name of length zero. The length tells the two apart.
//   - x/sys allocates an address object for every datagram RecvFrom
//     receives; decoding in place allocates only the path string, and only
//     when the sender has one.

// udsSockaddrLen is the length of an address with no path: the family alone.
const udsSockaddrLen = uint32(unsafe.Offsetof(unix.RawSockaddrUnix{}.Path))

// udsDecodePath turns a raw address of length l into a path: "" for an
// unnamed socket, "@name" for an abstract one (every byte of the name kept,
// as the kernel matches them all), and a filesystem path up to its NUL.
func udsDecodePath(rsa *unix.RawSockaddrUnix, l uint32) string {
	if l <= udsSockaddrLen || rsa.Family != unix.AF_UNIX {
		return ""
	}
	n := int(l - udsSockaddrLen)
	n = min(n, len(rsa.Path))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&rsa.Path[0])), n)
	if raw[0] == 0 {
		return "@" + string(raw[1:])
	}
	for i, b := range raw {
		if b == 0 {
			return string(raw[:i])
		}
	}
	return string(raw)
}

// udsName calls getsockname(2) or getpeername(2), trap choosing which.
func udsName(fd int, trap uintptr) (string, error) {
	var rsa unix.RawSockaddrUnix
	l := uint32(unsafe.Sizeof(rsa))
	// Neither call sleeps, so neither is interrupted: no EINTR to retry.
	_, _, e := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return "", e
	}
	return udsDecodePath(&rsa, l), nil
}

func udsGetsockname(fd int) (string, error) { return udsName(fd, unix.SYS_GETSOCKNAME) }
func udsGetpeername(fd int) (string, error) { return udsName(fd, unix.SYS_GETPEERNAME) }

// udsAcceptedPeer returns the path of the peer that accept reported. x/sys
// gives "@" both for an unnamed peer (the usual case: connecting sockets
// rarely bind) and for the empty abstract name; only then is the peer asked
// again, with the length this time.
func udsAcceptedPeer(fd int, sa unix.Sockaddr) (string, error) {
	path := udsPathOf(sa)
	if path != "@" {
		return path, nil
	}
	return udsGetpeername(fd)
}

// udsRecvfrom receives one datagram and the path of its sender ("" for an
// unnamed sender), allocating only that string.
func udsRecvfrom(fd int, p []byte) (int, string, error) {
	var rsa unix.RawSockaddrUnix
	var l uint32
	var zero byte
	buf := unsafe.Pointer(&zero)
	if len(p) > 0 {
		buf = unsafe.Pointer(&p[0])
	}
	n, err := sysx.IgnoringEINTRIO(func() (int, error) {
		l = uint32(unsafe.Sizeof(rsa))
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(buf), uintptr(len(p)), 0,
			uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	})
	if err != nil {
		return 0, "", err
	}
	return n, udsDecodePath(&rsa, l), nil
}
