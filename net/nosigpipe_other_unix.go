//go:build unix && !darwin && !(dragonfly || freebsd || illumos || linux)

package net

// setNoSigpipe does nothing here (NetBSD, OpenBSD and the other systems that
// take the fcntl paths): a write to a reset connection raises a SIGPIPE that
// Go's runtime ignores for every descriptor but 1 and 2, so the write just
// fails with EPIPE.
func setNoSigpipe(int) error { return nil }
