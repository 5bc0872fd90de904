package poller

import (
	"sync"
	"testing"
)

// The uncontended fast path of the Sync Poll lock beside sync.Mutex.
func BenchmarkPollLockUncontended(b *testing.B) {
	l := newPollLock()
	b.ReportAllocs()
	for b.Loop() {
		l.lock(-1)
		l.unlock()
	}
}

func BenchmarkSyncMutexUncontended(b *testing.B) {
	var mu sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		mu.Unlock() //nolint:staticcheck // the empty critical section is the point
	}
}
