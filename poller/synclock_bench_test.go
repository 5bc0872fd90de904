package poller

import (
	"sync"
	"testing"
)

// The uncontended fast path of the Sync Poll lock beside sync.Mutex.
func BenchmarkPollLockUncontended(b *testing.B) {
	l := newPollLock()
	entries := 0
	b.ReportAllocs()
	for b.Loop() {
		l.lock(-1)
		entries++
		l.unlock()
	}
	_ = entries
}

func BenchmarkSyncMutexUncontended(b *testing.B) {
	var (
		mu      sync.Mutex
		entries int
	)
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		entries++ // the same nothing the Poll lock's benchmark does inside
		mu.Unlock()
	}
	_ = entries
}
