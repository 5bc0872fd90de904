//go:build darwin || dragonfly || freebsd || openbsd

package poller

import "golang.org/x/sys/unix"

// evReceipt makes kevent answer every change with a receipt instead of
// mixing change errors into the event list.
const evReceipt = unix.EV_RECEIPT
