//go:build !linux

package main

import "syscall"

// serverProcAttr puts a server in a process group of its own, so that ^C
// at the terminal stops the soak, which then settles and stops the
// servers itself. (The soak reads /proc, so it only runs on Linux; this
// file keeps the package building elsewhere.)
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
