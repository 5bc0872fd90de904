package fdref

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/atomic"
)

func TestAcquireOnOpenCounts(t *testing.T) {
	var s State
	require.True(t, s.Acquire())
	require.True(t, s.Acquire())
	require.Equal(t, uint64(2), s.word.Load())
}

func TestReleaseOnOpenNeverCloses(t *testing.T) {
	var s State
	require.True(t, s.Acquire())
	require.False(t, s.Release())
	require.Zero(t, s.word.Load())
}

func TestCloseWithNoReferenceClosesNow(t *testing.T) {
	var s State
	first, closeNow := s.Close()
	require.True(t, first)
	require.True(t, closeNow)
	require.True(t, s.IsClosed())
}

func TestCloseWithReferencesDefersToTheLastRelease(t *testing.T) {
	var s State
	require.True(t, s.Acquire())
	require.True(t, s.Acquire())
	first, closeNow := s.Close()
	require.True(t, first)
	require.False(t, closeNow)
	require.False(t, s.Release(), "one reference is still out")
	require.True(t, s.Release(), "the last release after Close must close")
}

func TestAcquireAfterCloseFails(t *testing.T) {
	var s State
	s.Close()
	require.False(t, s.Acquire())
	require.Equal(t, closedBit, s.word.Load(), "a failed Acquire takes nothing")
}

func TestSecondCloseIsRefused(t *testing.T) {
	var s State
	s.Close()
	first, closeNow := s.Close()
	require.False(t, first)
	require.False(t, closeNow)
}

func TestReleaseWithoutAcquireIsRefused(t *testing.T) {
	var s State
	require.False(t, s.Release())
	require.Zero(t, s.word.Load())
	s.Close()
	require.False(t, s.Release())
	require.Equal(t, closedBit, s.word.Load())
}

// Many goroutines acquire and release while one closes: the descriptor is
// closed exactly once, and never while a reference is held.
func TestConcurrentUseClosesExactlyOnce(t *testing.T) {
	for range 200 {
		var (
			s      State
			closes atomic.Int32
			inUse  atomic.Int32
			wg     sync.WaitGroup
		)
		closeFd := func() {
			require.Zero(t, inUse.Load(), "closed while in use")
			closes.Inc()
		}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if !s.Acquire() {
						return
					}
					inUse.Inc()
					inUse.Dec()
					if s.Release() {
						closeFd()
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, now := s.Close(); now {
				closeFd()
			}
		}()
		wg.Wait()
		require.Equal(t, int32(1), closes.Load())
	}
}
