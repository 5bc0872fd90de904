//go:build unix

package net_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

func TestBufWriterHoldsNoMoreThanItsHighWatermark(t *testing.T) {
	rt := newRuntime(t)
	client, server := facadePair(t, rt, "tcp", "127.0.0.1:0")
	defer client.Close()
	defer server.Close()

	const high, low = 32 << 10, 8 << 10
	payload := make([]byte, 32<<20) // more than two kernel buffers hold
	rand.Read(payload)
	w := metalnet.NewBufWriter(server, low, high)
	var most atomic.Int64
	var written atomic.Int64
	// Writes of 100 bytes, as a server answering small requests makes.
	off := 0
	flushing := false
	h := runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for off < len(payload) {
			end := min(off+100, len(payload))
			res, ok := w.PollWrite(cx, payload[off:end])
			if b := int64(w.Buffered()); b > most.Load() {
				most.Store(b)
			}
			if !ok {
				return nil, false
			}
			if res.Err != nil {
				return res.Err, true
			}
			off += res.Value
			written.Store(int64(off))
		}
		flushing = true
		return w.PollFlush(cx)
	})))

	// The peer reads nothing until the writer is stuck, then everything.
	waitUntil(t, func() bool { return written.Load() > 0 && most.Load() >= high })
	got := make([]byte, len(payload))
	_, err := io.ReadFull(client, got)
	require.NoError(t, err)
	res, err := h.Wait()
	require.NoError(t, err)
	require.NoError(t, res)
	require.True(t, flushing)
	require.True(t, bytes.Equal(payload, got), "the bytes arrived in order and whole")
	require.LessOrEqual(t, most.Load(), int64(high), "the buffer went over its high watermark")
	require.Zero(t, w.Buffered())
}
