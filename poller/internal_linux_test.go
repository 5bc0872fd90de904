package poller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The mapping table, one row per case the issue names.
func TestEpollEventMapping(t *testing.T) {
	const (
		IN, PRI, OUT, ERR, HUP, RDHUP = unix.EPOLLIN, unix.EPOLLPRI, unix.EPOLLOUT, unix.EPOLLERR, unix.EPOLLHUP, unix.EPOLLRDHUP
	)
	for _, c := range []struct {
		name string
		e    uint32
		want eventFlags
	}{
		{"in", IN, flagReadable},
		{"pri", PRI, flagReadable | flagPriority},
		{"out", OUT, flagWritable},
		{"half-close", IN | RDHUP, flagReadable | flagReadClosed},
		{"rdhup alone", RDHUP, 0},
		{"hup", HUP, flagReadClosed | flagWriteClosed},
		{"out+err", OUT | ERR, flagWritable | flagError | flagWriteClosed},
		{"err alone (pipe reader gone)", ERR, flagError | flagWriteClosed},
		{"in+err", IN | ERR, flagReadable | flagError},
		{"reset", IN | OUT | ERR | HUP | RDHUP, flagReadable | flagWritable | flagError | flagReadClosed | flagWriteClosed},
	} {
		require.Equal(t, c.want, eventFlagsOf(c.e), c.name)
	}
}

func TestEpollFlagsPerInterest(t *testing.T) {
	require.Equal(t, uint32(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLET), epollFlags(Readable))
	require.Equal(t, uint32(unix.EPOLLOUT|unix.EPOLLET), epollFlags(Writable))
	require.Equal(t, uint32(unix.EPOLLPRI|unix.EPOLLET), epollFlags(Priority))
	require.Equal(t, uint32(unix.EPOLLIN|unix.EPOLLRDHUP), epollFlags(Readable|Level))
	require.Equal(t, uint32(unix.EPOLLOUT|unix.EPOLLET|unix.EPOLLONESHOT), epollFlags(Writable|Oneshot))
}

func TestTokensRoundTripThroughEpollData(t *testing.T) {
	for _, tok := range []Token{0, 1, 1 << 31, 1 << 32, 0xdead_beef_cafe_f00d, ^Token(0)} {
		var e unix.EpollEvent
		setToken(&e, tok)
		require.Equal(t, tok, tokenOf(&e))
	}
}

func TestTimeoutMillisRoundsUp(t *testing.T) {
	require.Equal(t, -1, timeoutMillis(-time.Nanosecond))
	require.Equal(t, 0, timeoutMillis(0))
	require.Equal(t, 1, timeoutMillis(time.Nanosecond))
	require.Equal(t, 1, timeoutMillis(999*time.Microsecond))
	require.Equal(t, 1, timeoutMillis(time.Millisecond))
	require.Equal(t, 2, timeoutMillis(time.Millisecond+1))
	require.Equal(t, 1<<31-1, timeoutMillis(1<<62))
}

func TestPollDescriptorsAreCloexec(t *testing.T) {
	p, err := New()
	require.NoError(t, err)
	defer p.Close()
	clone, err := p.Registry().TryClone()
	require.NoError(t, err)
	defer clone.Close()
	w, err := NewWaker(p.Registry(), 1)
	require.NoError(t, err)
	defer w.Close()
	for _, fd := range []int{p.registry.sel.epfd, p.registry.sel.shared.wakeFd, clone.sel.epfd, w.sys.fd} {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		require.NoError(t, err)
		require.NotZero(t, flags&unix.FD_CLOEXEC, "fd %d lacks FD_CLOEXEC", fd)
		require.GreaterOrEqual(t, fd, 3)
	}
	for _, fd := range []int{p.registry.sel.shared.wakeFd, w.sys.fd} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		require.NoError(t, err)
		require.NotZero(t, fl&unix.O_NONBLOCK, "fd %d is blocking", fd)
	}
}

// The internal wake-up never surfaces as an event, even on the token it
// borrows, until the caller uses that token.
func TestInternalWakeNeverSurfaces(t *testing.T) {
	p, err := New()
	require.NoError(t, err)
	defer p.Close()
	ev := NewEvents(8)
	for range 3 {
		require.NoError(t, p.registry.sel.wake())
		require.NoError(t, p.Poll(ev, 20*time.Millisecond))
		require.Zero(t, ev.Len())
	}
}

// Close from another goroutine while the poller is in the kernel: the
// descriptors stay open until the poller leaves (so it never waits on a
// number the kernel gave to another file), then close.
func TestCloseDefersUntilTheLastPollerLeaves(t *testing.T) {
	p, err := New()
	require.NoError(t, err)
	epfd := p.registry.sel.epfd
	inPoll := make(chan struct{})
	done := make(chan error)
	go func() {
		require.True(t, p.registry.sel.ref.Acquire()) // stand in for a long syscall
		close(inPoll)
		done <- p.Poll(NewEvents(4), -1)
		p.registry.release()
	}()
	<-inPoll
	require.NoError(t, p.Close())
	require.ErrorIs(t, <-done, ErrClosed)
	// One reference is still held by the goroutine until it releases; once
	// it has, the epoll fd is closed.
	require.Eventually(t, func() bool {
		_, err := unix.FcntlInt(uintptr(epfd), unix.F_GETFD, 0)
		return err == unix.EBADF
	}, 5*time.Second, time.Millisecond)
}
