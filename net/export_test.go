//go:build unix

package net

// FdOf exposes a socket's descriptor to the external tests, which check its
// flags and set options this package does not offer. The descriptor stays
// owned by the socket.
func FdOf(x interface{ sock() *sock }) int { return x.sock().fd }

func (c *Conn) sock() *sock { return c.s }
