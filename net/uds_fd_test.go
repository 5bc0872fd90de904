//go:build unix

package net

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
)

// udsRequireFdCount requires the open descriptor count to be back at the
// baseline. A descriptor that some earlier test's goroutine is still
// closing may hold the count up for a moment, so it gets two seconds to
// settle; a leak never does. (Such a late close can also fall between
// baseline and check, leaving the count below the baseline: that is not a
// leak, and a leak of even one descriptor per cycle is thousands.)
func udsRequireFdCount(t *testing.T, baseline int) {
	t.Helper()
	got := testutil.OpenFds(t)
	for deadline := time.Now().Add(2 * time.Second); got > baseline && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got = testutil.OpenFds(t)
	}
	require.LessOrEqual(t, got, baseline, "descriptors leaked")
}

func TestPipeAndSocketpairCyclesLeakNoDescriptors(t *testing.T) {
	cycle := func() {
		w, r, err := Pipe()
		require.NoError(t, err)
		s1, s2, err := UnixStreamPair()
		require.NoError(t, err)
		d1, d2, err := UnixDatagramPair()
		require.NoError(t, err)
		for _, c := range []interface{ Close() error }{w, r, s1, s2, d1, d2} {
			require.NoError(t, c.Close())
		}
	}
	cycle() // let anything lazily opened (by the runtime, say) open now
	before := testutil.OpenFds(t)
	for range 2000 {
		cycle()
	}
	udsRequireFdCount(t, before)
}

func TestListenConnectAcceptCyclesLeakNoDescriptors(t *testing.T) {
	path := udsSocketPath(t, "c")
	cycle := func() {
		ln, err := ListenUnix(path)
		require.NoError(t, err)
		c, err := ConnectUnix(path)
		require.NoError(t, err)
		s, _, err := ln.Accept()
		require.NoError(t, err, "a Unix-domain connect is queued at once")
		d, err := BindUnixDatagram(path + "d")
		require.NoError(t, err)
		for _, cl := range []interface{ Close() error }{s, c, ln, d} {
			require.NoError(t, cl.Close())
		}
		require.NoError(t, os.Remove(path))
		require.NoError(t, os.Remove(path+"d"))
	}
	cycle()
	before := testutil.OpenFds(t)
	for range 500 {
		cycle()
	}
	udsRequireFdCount(t, before)
}

func TestEveryDescriptorIsNonblockingAndCloexec(t *testing.T) {
	dir := udsSocketDir(t)
	var fds []int
	add := func(s *sock) { fds = append(fds, s.fd) }

	w, r, err := Pipe()
	require.NoError(t, err)
	defer w.Close()
	defer r.Close()
	add(w.s)
	add(r.s)

	osR, osW, err := os.Pipe()
	require.NoError(t, err)
	aw, err := PipeSenderFromFile(osW)
	require.NoError(t, err)
	defer aw.Close()
	ar, err := PipeReceiverFromFile(osR)
	require.NoError(t, err)
	defer ar.Close()
	add(aw.s)
	add(ar.s)

	s1, s2, err := UnixStreamPair()
	require.NoError(t, err)
	defer s1.Close()
	defer s2.Close()
	add(s1.s)
	add(s2.s)

	ln, err := ListenUnix(dir + "/l")
	require.NoError(t, err)
	defer ln.Close()
	c, err := ConnectUnix(dir + "/l")
	require.NoError(t, err)
	defer c.Close()
	a, _ := udsAcceptOne(t, ln)
	add(ln.s)
	add(c.s)
	add(a.s)

	d1, d2, err := UnixDatagramPair()
	require.NoError(t, err)
	defer d1.Close()
	defer d2.Close()
	b, err := BindUnixDatagram(dir + "/d")
	require.NoError(t, err)
	defer b.Close()
	u, err := UnboundUnixDatagram()
	require.NoError(t, err)
	defer u.Close()
	add(d1.s)
	add(d2.s)
	add(b.s)
	add(u.s)

	require.Len(t, fds, 13)
	for _, fd := range fds {
		udsRequireNonblockCloexec(t, fd)
	}
}
