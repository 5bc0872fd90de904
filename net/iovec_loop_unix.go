//go:build unix && !(darwin || linux || openbsd)

package net

import "golang.org/x/sys/unix"

// Where golang.org/x/sys offers no readv(2) and writev(2), a vectored call
// is one call per buffer, in turn, stopping at the first short one.
func readv(fd int, bufs [][]byte) (int, error)  { return eachBuffer(fd, bufs, unix.Read) }
func writev(fd int, bufs [][]byte) (int, error) { return eachBuffer(fd, bufs, unix.Write) }

// eachBuffer applies op to the buffers in turn. An error after some bytes
// moved is held back (the caller sees the count; the next call meets the
// error again), as readv and writev themselves would report it.
func eachBuffer(fd int, bufs [][]byte, op func(int, []byte) (int, error)) (int, error) {
	total := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		n, err := op(fd, b)
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		total += n
		if n < len(b) {
			break
		}
	}
	return total, nil
}
