package net

// ShutdownHow says which halves of a connection Shutdown closes.
type ShutdownHow int

const (
	// ShutdownRead closes the reading half: reads return end of stream.
	ShutdownRead ShutdownHow = iota
	// ShutdownWrite closes the writing half: the peer reads end of stream.
	ShutdownWrite
	// ShutdownBoth closes both halves.
	ShutdownBoth
)

// String returns "read", "write" or "both".
func (h ShutdownHow) String() string {
	switch h {
	case ShutdownRead:
		return "read"
	case ShutdownWrite:
		return "write"
	case ShutdownBoth:
		return "both"
	}
	return "ShutdownHow(invalid)"
}
