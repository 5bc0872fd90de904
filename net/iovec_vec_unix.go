//go:build darwin || linux || openbsd

package net

import "golang.org/x/sys/unix"

func readv(fd int, bufs [][]byte) (int, error)  { return unix.Readv(fd, bufs) }
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }
