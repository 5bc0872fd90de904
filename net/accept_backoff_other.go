//go:build !unix

package net

// outOfResources reports an accept error that pauses the listener; no
// stream socket opens outside Unix (see sock_other.go), so none does.
func outOfResources(error) bool { return false }
