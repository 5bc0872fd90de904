package resp

// This file is the server's side of the protocol: the store every
// connection of a server shares, and Serve, which runs the commands a
// connection sent against it.
//
// The store is a map[string][]byte cut into storeShards shards by a hash
// of the key, each behind a sync.RWMutex of its own, so that the event
// loops (or goroutines) of one server contend only when their keys fall
// in the same shard. A shard is padded to a cache line of its own.
//
// Costs, in allocations: PING, GET and the errors allocate nothing (a GET
// appends the value to the reply under the shard's read lock, so no copy
// of it outlives the lock). A SET whose value is as long as the one it
// replaces overwrites it in place, under the write lock, and allocates
// nothing: redis-benchmark's SET, one key and a fixed size, takes this
// path. Any other SET allocates the stored copy of the value and the key's
// string, which a map assignment takes even when the key is present. Only
// the output buffer growing allocates besides.

import (
	"bytes"
	"hash/maphash"
	"sync"
	"unsafe"
)

// storeShards is how many shards the store has: a power of two, and many
// more than the loops a server runs, so that two loops rarely want the
// same shard at once.
const storeShards = 64

// MaxBatch is how much output Serve collects before it stops taking
// commands: a connection that pipelines GETs of large values gets its
// replies in batches of about this size (the last reply may take a batch
// past it), not all at once.
const MaxBatch = 1 << 20

// Store is the key space of one server, shared by all its connections
// and safe for concurrent use. Serve runs a connection's commands on it.
type Store struct {
	seed   maphash.Seed
	shards [storeShards]paddedShard
}

// shard is one part of the key space.
type shard struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// paddedShard is a shard alone on its cache line(s).
type paddedShard struct {
	shard
	_ [64 - unsafe.Sizeof(shard{})%64]byte
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string][]byte)
	}
	return s
}

// shardOf returns the shard that holds key.
func (s *Store) shardOf(key []byte) *shard {
	return &s.shards[maphash.Bytes(s.seed, key)&(storeShards-1)].shard
}

// appendGet appends key's value to out as a bulk string, or the null bulk
// string when key is missing.
func (s *Store) appendGet(out, key []byte) []byte {
	sh := s.shardOf(key)
	sh.mu.RLock()
	v, ok := sh.m[string(key)] // the conversion does not allocate
	if ok {
		out = appendBulk(out, v)
	}
	sh.mu.RUnlock()
	if !ok {
		out = append(out, replyNull...)
	}
	return out
}

// set stores a copy of value under key.
func (s *Store) set(key, value []byte) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	if old, ok := sh.m[string(key)]; ok && len(old) == len(value) {
		copy(old, value) // readers copy under the read lock: none sees it torn
	} else {
		sh.m[string(key)] = bytes.Clone(value)
	}
	sh.mu.Unlock()
}

// Serve runs the complete commands at the front of in, in order, and
// appends their replies to out. It returns how many bytes of in those
// commands took (the rest is the start of a command not fully arrived, or
// commands left for the next call), out extended, and whether the
// connection must be closed once out is written: after QUIT, or after a
// protocol error, whose reply it appends.
//
// Serve stops taking commands once out holds MaxBatch bytes; it always
// runs at least one complete command if in holds one. So consumed == 0
// without closeAfter means in holds no complete command: read more. A
// caller that wrote out and still holds bytes past consumed calls Serve
// again before it reads.
//
// in is only read during the call; the replies are copies. Serve does not
// allocate except to grow out (and for SET's stored copy).
func (s *Store) Serve(in, out []byte) (consumed int, out2 []byte, closeAfter bool) {
	var cmd command
	for consumed < len(in) {
		n, _, err := parseCommand(in[consumed:], &cmd)
		if err != nil {
			return consumed, appendError(out, err.Error(), nil, ""), true
		}
		if n == 0 {
			break
		}
		consumed += n
		if cmd.argc == 0 {
			continue
		}
		var quit bool
		out, quit = s.execute(out, &cmd)
		if quit {
			return consumed, out, true
		}
		if len(out) >= MaxBatch {
			break
		}
	}
	return consumed, out, false
}

// Replies that never change.
var (
	replyOK    = []byte("+OK\r\n")
	replyPong  = []byte("+PONG\r\n")
	replyNull  = []byte("$-1\r\n")
	replyEmpty = []byte("*0\r\n")
)

// execute runs one command and appends its reply; quit reports QUIT.
//
//	PING [message]        +PONG, or message as a bulk string
//	SET key value         +OK; no options: EX, NX and the rest are a
//	                      syntax error, and the key is left alone
//	GET key               the value, or the null bulk string $-1
//	CONFIG GET parameter  save and appendonly as a server without
//	                      persistence has them ("" and "no"), which
//	                      redis-benchmark asks for; other parameters,
//	                      an empty array
//	COMMAND ...           an empty array: no command documentation
//	QUIT                  +OK, then the connection closes
//
// Names are matched in any case. Anything else is "unknown command"; a
// known command with the wrong number of arguments is Redis's "wrong
// number of arguments" error.
func (s *Store) execute(out []byte, cmd *command) (_ []byte, quit bool) {
	name := cmd.argv[0]
	switch {
	case equalFold(name, "get"):
		if cmd.argc != 2 {
			return wrongArgs(out, "get"), false
		}
		return s.appendGet(out, cmd.argv[1]), false
	case equalFold(name, "set"):
		if cmd.argc < 3 {
			return wrongArgs(out, "set"), false
		}
		if cmd.argc > 3 {
			return appendError(out, "syntax error", nil, ""), false
		}
		s.set(cmd.argv[1], cmd.argv[2])
		return append(out, replyOK...), false
	case equalFold(name, "ping"):
		switch cmd.argc {
		case 1:
			return append(out, replyPong...), false
		case 2:
			return appendBulk(out, cmd.argv[1]), false
		}
		return wrongArgs(out, "ping"), false
	case equalFold(name, "config"):
		if cmd.argc >= 3 && equalFold(cmd.argv[1], "get") {
			switch {
			case cmd.argc == 3 && equalFold(cmd.argv[2], "save"):
				return append(out, "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"...), false
			case cmd.argc == 3 && equalFold(cmd.argv[2], "appendonly"):
				return append(out, "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"...), false
			}
			return append(out, replyEmpty...), false
		}
		if cmd.argc < 2 {
			return wrongArgs(out, "config"), false
		}
		return appendError(out, "unknown subcommand ", cmd.argv[1], ". Only CONFIG GET is supported."), false
	case equalFold(name, "command"):
		return append(out, replyEmpty...), false
	case equalFold(name, "quit"):
		return append(out, replyOK...), true
	}
	return appendError(out, "unknown command ", name, ""), false
}

// wrongArgs appends Redis's error for a command given too many or too few
// arguments.
func wrongArgs(out []byte, name string) []byte {
	out = append(out, "-ERR wrong number of arguments for '"...)
	out = append(out, name...)
	return append(out, "' command\r\n"...)
}
