package resp

// netpoll is github.com/cloudwego/netpoll as its guide writes a server: an
// OnRequest handler that reads with the Reader's nocopy calls (Peek, then
// Skip what was used, then Release) and writes with the Writer's (Malloc,
// copy, Flush). netpoll calls OnRequest again as long as unread input
// remains, so a handler must use all of it or wait for the rest: when the
// Reader holds only the start of a command, the handler waits in Peek for
// as many bytes as the command is known to need (Need), since Peek blocks
// until that many have arrived, as the Reader is documented to. The
// partial command stays in the Reader meanwhile.

import (
	"context"

	"github.com/cloudwego/netpoll"
	"github.com/metalio/metal/bench/servers/internal/peer"
)

func startNetpoll(addr string, db *Store) (Server, error) {
	return started(peer.StartNetpoll(addr, func(_ context.Context, c netpoll.Connection) error {
		return netpollServe(c, db)
	}))
}

// netpollServe serves the input c holds, and waits for the rest of a
// command cut short. It returns once the Reader is empty.
func netpollServe(c netpoll.Connection, db *Store) error {
	r, w := c.Reader(), c.Writer()
	ob := getOut()
	out := *ob
	defer func() { putOut(ob, out) }()
	for {
		n := r.Len()
		if n == 0 {
			return nil
		}
		in, err := r.Peek(n)
		if err != nil {
			return err
		}
		var consumed int
		var closeAfter bool
		consumed, out, closeAfter, err = serveAll(db, in, out, func(b []byte) error {
			buf, err := w.Malloc(len(b))
			if err != nil {
				return err
			}
			copy(buf, b)
			return w.Flush()
		})
		if err != nil || closeAfter {
			_ = c.Close()
			return err
		}
		if consumed == 0 {
			// Only the start of a command: wait until as many bytes as it
			// is known to need have arrived. (Input that arrived after the
			// Peek above is served on the next round, never waited on.)
			if _, err := r.Peek(Need(in)); err != nil {
				return err
			}
			continue
		}
		if err := r.Skip(consumed); err != nil {
			return err
		}
		if err := r.Release(); err != nil {
			return err
		}
	}
}
