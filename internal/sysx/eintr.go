// Package sysx holds the system-call policy shared by metal's packages.
//
// It is the one place that retries EINTR: a signal that interrupts a system
// call (Go preempts goroutines with SIGURG, so this happens all the time) is
// never an error a caller should see. Poll's wait, which must also shorten
// its timeout, is the one exception and lives in package poller.
package sysx

import "syscall"

// IgnoringEINTR calls fn until it returns an error other than EINTR.
func IgnoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != syscall.EINTR {
			return err
		}
	}
}

// IgnoringEINTRIO is IgnoringEINTR for calls that also return a count.
func IgnoringEINTRIO(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
