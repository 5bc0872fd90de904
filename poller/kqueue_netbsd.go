//go:build netbsd

package poller

// evReceipt is zero: golang.org/x/sys has no EV_RECEIPT for NetBSD, so
// selector.apply submits changes one by one instead.
const evReceipt = 0
