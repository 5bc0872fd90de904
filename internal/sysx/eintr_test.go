package sysx

import (
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIgnoringEINTRRetriesOnlyEINTR(t *testing.T) {
	calls := 0
	err := IgnoringEINTR(func() error {
		calls++
		if calls < 3 {
			return syscall.EINTR
		}
		return syscall.EAGAIN
	})
	require.Equal(t, 3, calls)
	require.True(t, errors.Is(err, syscall.EAGAIN))

	calls = 0
	require.NoError(t, IgnoringEINTR(func() error { calls++; return nil }))
	require.Equal(t, 1, calls)
}

func TestIgnoringEINTRIOKeepsTheCount(t *testing.T) {
	calls := 0
	n, err := IgnoringEINTRIO(func() (int, error) {
		calls++
		if calls == 1 {
			return 0, syscall.EINTR
		}
		return 42, nil
	})
	require.NoError(t, err)
	require.Equal(t, 42, n)
	require.Equal(t, 2, calls)
}
