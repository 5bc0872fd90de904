//go:build unix && !darwin

package net

// setNoSigpipe does nothing here: only macOS takes the fcntl path that calls
// it, and elsewhere a write to a reset connection raises a SIGPIPE that Go's
// runtime ignores for every descriptor but 1 and 2, so the write just fails
// with EPIPE.
func setNoSigpipe(int) error { return nil }
