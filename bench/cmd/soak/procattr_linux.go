package main

import "syscall"

// serverProcAttr puts a server in a process group of its own, so that ^C
// at the terminal stops the soak, which then settles and stops the
// servers itself, instead of reaching the servers first; and has the
// kernel kill it if the soak dies without stopping it.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
