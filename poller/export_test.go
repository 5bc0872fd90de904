package poller

// Wakeups counts the times a Set found the Poll asleep and woke it.
func (p *Poll) Wakeups() uint64 { return p.wakeups.Load() }

// InPoll reports whether some goroutine holds the Sync Poll lock.
func (p *Poll) InPoll() bool { return p.lock.state.Load()&lockedBit != 0 }
