package main

// This file is the -std server: the same protocol, commands and store, on
// Go's own net package with a goroutine per connection, the way a Go
// server is usually written. It is the baseline the metal server is
// measured against, so it does the same work in the same order: read into
// the decoder's buffer (which does what a bufio.Reader would, without a
// second copy), run every complete command, write all the replies with one
// Write, read again.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// serveStd serves on addr until ctx is done, then closes the listener and
// every connection and waits for their goroutines. It writes the address
// it listens on, then a newline, to w before it serves.
func serveStd(ctx context.Context, addr string, w io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, ln.Addr())

	db := newStore()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = make(map[net.Conn]struct{})
	)
	wg.Go(func() { sweepEvery(ctx, db, sweepInterval) })
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})

	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			// Out of descriptors or the like: let others finish and retry.
			log.Printf("kv: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			break
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			serveStdConn(c, db)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		})
	}
	wg.Wait()
	return nil
}

// serveStdConn serves one connection until the client leaves, QUIT, a
// protocol error or an I/O error.
func serveStdConn(c net.Conn, db *store) {
	var (
		d   decoder
		out []byte
		s   = session{db: db}
	)
	for {
		var end batchEnd
		out, end = s.serveBatch(&d, out[:0], time.Now().UnixNano())
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = trimOutput(out)
		}
		switch end {
		case batchClose:
			return
		case batchFull:
			continue
		}
		n, err := c.Read(d.ReadSpace())
		d.Wrote(n)
		if err != nil {
			if n > 0 {
				// Answer what came with the error before leaving.
				out, _ = s.serveBatch(&d, out[:0], time.Now().UnixNano())
				_, _ = c.Write(out)
			}
			return
		}
	}
}

// sweepInterval is how often expired keys nobody asked for are swept.
const sweepInterval = 100 * time.Millisecond

// sweepEvery sweeps db every period until ctx is done.
func sweepEvery(ctx context.Context, db *store, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			db.sweep(now.UnixNano(), sweepPerShard)
		}
	}
}

// maxIdleOutput is the largest output buffer a connection keeps between
// batches: a batch that needed more (a large GET) gives it back.
const maxIdleOutput = 64 << 10

// trimOutput empties out for the next batch, dropping it if it grew large.
func trimOutput(out []byte) []byte {
	if cap(out) > maxIdleOutput {
		return nil
	}
	return out[:0]
}
