//go:build unix

package net_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/poller"
)

func TestEveryDescriptorIsNonblockingAndCloseOnExec(t *testing.T) {
	client, server := connectedPair(t, testutil.LoopbackV4)
	l, _ := listen(t, testutil.LoopbackV4)
	u, _ := bindUDP(t, testutil.LoopbackV4)
	_, std := stdPair(t)
	adopted, err := metalnet.TCPStreamFromStd(std)
	require.NoError(t, err)
	defer adopted.Close()

	for name, fd := range map[string]int{
		"connected stream": metalnet.FdOf(client),
		"accepted stream":  metalnet.FdOf(server),
		"listener":         metalnet.FdOf(l),
		"UDP socket":       metalnet.FdOf(u),
		"adopted stream":   metalnet.FdOf(adopted),
	} {
		t.Run(name, func(t *testing.T) { testutil.RequireNonblockCloexec(t, fd) })
	}
}

// Open and close 2,000 listeners and connections (6,000 descriptors): the
// count of open descriptors comes back to where it was.
func TestOpeningAndClosingManySocketsLeaksNoDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" && runtime.GOOS != "darwin" {
		t.Skip("counts descriptors through /proc/self/fd or /dev/fd")
	}
	p, events := testutil.NewPoll(t)
	runtime.GC() // let finalizers of earlier tests' std values run first
	before := testutil.OpenFds(t)

	for i := range 2000 {
		l, err := metalnet.ListenTCP(testutil.LoopbackV4)
		require.NoError(t, err)
		addr, err := l.LocalAddr()
		require.NoError(t, err)
		require.NoError(t, p.Registry().Register(l, id1, poller.Readable))
		c, err := metalnet.ConnectTCP(addr)
		require.NoError(t, err)
		s, _ := acceptOneNoCleanup(t, p, events, l)
		// Reset rather than close gracefully: no TIME_WAIT left behind to
		// eat the ephemeral ports of later runs.
		require.NoError(t, s.SetLinger(0))
		require.NoError(t, s.Close())
		require.NoError(t, c.Close())
		require.NoError(t, p.Registry().Deregister(l))
		require.NoError(t, l.Close(), "iteration %d", i)
	}
	// Failed opens must not leak either.
	l, addr := listen(t, testutil.LoopbackV4)
	for range 100 {
		_, err := metalnet.ListenTCP(addr)
		require.Error(t, err)
	}
	require.NoError(t, l.Close())
	require.Equal(t, before, testutil.OpenFds(t))
}

func acceptOneNoCleanup(t *testing.T, p *poller.Poll, events *poller.Events, l *metalnet.TCPListener) (*metalnet.TCPStream, error) {
	t.Helper()
	for {
		s, _, err := l.Accept()
		if err == nil {
			return s, nil
		}
		requireWouldBlock(t, err)
		testutil.ExpectEvents(t, p, events, testutil.Expect(id1, testutil.Readable))
	}
}
