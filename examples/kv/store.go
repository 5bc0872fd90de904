package main

// This file is the data: one keyspace of byte-string values, shared by
// every connection.
//
// Connections run as tasks on several workers at once (or as goroutines in
// -std mode), so the keyspace is split into 64 shards by a hash of the key,
// each a map behind its own mutex: two commands contend only when their
// keys fall in the same shard, one time in 64 for random keys. A command
// on several keys (MGET, MSET, DEL, EXISTS) locks every shard it touches,
// in index order, so it sees and makes one consistent state and cannot
// deadlock with another.
//
// Keys with a time to live expire in two ways. Lazily: a command that
// finds an expired key treats it as missing and deletes it. And by a sweep
// that the server runs every 100 ms (a task on the runtime, or a goroutine
// in -std mode), which looks at a bounded number of entries per shard, so
// keys nobody asks for again do not stay in memory. Go's map iteration
// starts at a random place, so successive sweeps cover the whole shard.
//
// Times are Unix nanoseconds, passed in by the caller: a connection reads
// the clock once per batch of pipelined commands, and tests pass any time
// they like.

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
	"sync"
)

const (
	shardCount = 64 // a power of two: the shard is the hash's low bits
	// sweepPerShard is how many entries a sweep examines in each shard
	// that has keys with a time to live.
	sweepPerShard = 256
)

// entry is a value and its expiry time (Unix ns; 0: it never expires).
type entry struct {
	val      []byte
	expireAt int64
}

// shard is one 64th of the keyspace. The padding keeps two shards' mutexes
// out of one cache line.
type shard struct {
	mu       sync.Mutex
	m        map[string]*entry
	volatile int // how many entries in m have an expiry time
	_        [40]byte
}

// store is the keyspace.
type store struct {
	shards [shardCount]shard
}

// newStore returns an empty keyspace.
func newStore() *store {
	s := new(store)
	for i := range s.shards {
		s.shards[i].m = make(map[string]*entry)
	}
	return s
}

// Errors of INCR and friends, with Redis's text.
var (
	errNotInteger = errors.New("ERR value is not an integer or out of range")
	errOverflow   = errors.New("ERR increment or decrement would overflow")
)

// shardIndex hashes key with FNV-1a (inline, so hashing allocates nothing)
// and returns its shard's index.
func shardIndex(key []byte) int {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return int(h & (shardCount - 1))
}

// shardOf returns key's shard.
func (s *store) shardOf(key []byte) *shard { return &s.shards[shardIndex(key)] }

// keyMask returns the set of shards holding keys[0], keys[step], ...
func keyMask(keys [][]byte, step int) uint64 {
	var mask uint64
	for i := 0; i < len(keys); i += step {
		mask |= 1 << shardIndex(keys[i])
	}
	return mask
}

// lock locks the shards in mask, in index order.
func (s *store) lock(mask uint64) {
	for m := mask; m != 0; m &= m - 1 {
		s.shards[bits.TrailingZeros64(m)].mu.Lock()
	}
}

// unlock unlocks the shards in mask.
func (s *store) unlock(mask uint64) {
	for m := mask; m != 0; m &= m - 1 {
		s.shards[bits.TrailingZeros64(m)].mu.Unlock()
	}
}

// live returns key's entry, or nil when it is missing or expired at now;
// an expired entry is deleted on the way. The shard must be locked.
func (sh *shard) live(key []byte, now int64) *entry {
	e := sh.m[string(key)]
	if e == nil {
		return nil
	}
	if e.expireAt != 0 && e.expireAt <= now {
		sh.remove(key, e)
		return nil
	}
	return e
}

// remove deletes key, whose entry is e. The shard must be locked.
func (sh *shard) remove(key []byte, e *entry) {
	if e.expireAt != 0 {
		sh.volatile--
	}
	delete(sh.m, string(key))
}

// setExpiry changes e's expiry time, keeping the volatile count. The shard
// must be locked.
func (sh *shard) setExpiry(e *entry, at int64) {
	switch {
	case e.expireAt == 0 && at != 0:
		sh.volatile++
	case e.expireAt != 0 && at == 0:
		sh.volatile--
	}
	e.expireAt = at
}

// put stores a copy of val under key (the key is copied into the map only
// when it is new; an existing entry's value buffer is reused when it fits).
// With keepTTL an existing entry keeps its expiry time; otherwise it gets
// expireAt. The shard must be locked.
func (sh *shard) put(key, val []byte, expireAt int64, keepTTL bool, now int64) {
	e := sh.live(key, now)
	if e == nil {
		e = &entry{val: append([]byte(nil), val...)}
		sh.m[string(key)] = e
		sh.setExpiry(e, expireAt)
		return
	}
	if c := cap(e.val); c >= len(val) && c <= 2*len(val)+64 {
		e.val = append(e.val[:0], val...)
	} else {
		e.val = append([]byte(nil), val...)
	}
	if !keepTTL {
		sh.setExpiry(e, expireAt)
	}
}

// setCond says when SET stores its value.
type setCond uint8

const (
	setAlways    setCond = iota
	setIfMissing         // NX
	setIfExists          // XX
)

// set stores val under key if cond allows, and reports whether it did.
func (s *store) set(key, val []byte, expireAt int64, keepTTL bool, cond setCond, now int64) bool {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cond != setAlways && (sh.live(key, now) != nil) != (cond == setIfExists) {
		return false
	}
	sh.put(key, val, expireAt, keepTTL, now)
	return true
}

// appendGet appends key's value as a bulk string to b, or a null bulk
// string when key is missing. The value is copied out under the lock, so it
// may be reused by the next SET as soon as the lock is released.
func (s *store) appendGet(b, key []byte, now int64) []byte {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.live(key, now); e != nil {
		return appendBulk(b, e.val)
	}
	return append(b, replyNull...)
}

// strlen returns the length of key's value, 0 when it is missing.
func (s *store) strlen(key []byte, now int64) int64 {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.live(key, now); e != nil {
		return int64(len(e.val))
	}
	return 0
}

// appendMGet appends an array of the values of keys (null for a missing
// one) to b, all read at one instant.
func (s *store) appendMGet(b []byte, keys [][]byte, now int64) []byte {
	mask := keyMask(keys, 1)
	s.lock(mask)
	defer s.unlock(mask)
	b = appendArray(b, len(keys))
	for _, k := range keys {
		if e := s.shardOf(k).live(k, now); e != nil {
			b = appendBulk(b, e.val)
		} else {
			b = append(b, replyNull...)
		}
	}
	return b
}

// mset stores pairs (key, value, key, value, ...) at one instant, with no
// expiry.
func (s *store) mset(pairs [][]byte, now int64) {
	mask := keyMask(pairs, 2)
	s.lock(mask)
	defer s.unlock(mask)
	for i := 0; i+1 < len(pairs); i += 2 {
		s.shardOf(pairs[i]).put(pairs[i], pairs[i+1], 0, false, now)
	}
}

// del deletes keys and returns how many existed.
func (s *store) del(keys [][]byte, now int64) int64 {
	mask := keyMask(keys, 1)
	s.lock(mask)
	defer s.unlock(mask)
	var n int64
	for _, k := range keys {
		sh := s.shardOf(k)
		if e := sh.live(k, now); e != nil {
			sh.remove(k, e)
			n++
		}
	}
	return n
}

// exists counts the keys that exist; a key named twice counts twice.
func (s *store) exists(keys [][]byte, now int64) int64 {
	mask := keyMask(keys, 1)
	s.lock(mask)
	defer s.unlock(mask)
	var n int64
	for _, k := range keys {
		if s.shardOf(k).live(k, now) != nil {
			n++
		}
	}
	return n
}

// incr adds delta to the integer stored at key (0 when missing) and
// returns the result. The key keeps its expiry time.
func (s *store) incr(key []byte, delta int64, now int64) (int64, error) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var v int64
	e := sh.live(key, now)
	if e != nil {
		var err error
		if v, err = parseInt(e.val); err != nil {
			return 0, errNotInteger
		}
	}
	if delta > 0 && v > math.MaxInt64-delta || delta < 0 && v < math.MinInt64-delta {
		return 0, errOverflow
	}
	v += delta
	var digits [20]byte
	sh.put(key, strconv.AppendInt(digits[:0], v, 10), 0, true, now)
	return v, nil
}

// expireCond is EXPIRE's option.
type expireCond uint8

const (
	expireAlways    expireCond = iota
	expireIfNone               // NX: only when the key has no expiry time
	expireIfSome               // XX: only when it has one
	expireIfGreater            // GT: only to a later time (none counts as never)
	expireIfLess               // LT: only to an earlier time (none counts as never)
)

// expire sets key's expiry time to at, if the key exists and cond allows,
// and reports whether it did. A time at or before now deletes the key.
func (s *store) expire(key []byte, at int64, cond expireCond, now int64) bool {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now)
	if e == nil {
		return false
	}
	switch cond {
	case expireIfNone:
		if e.expireAt != 0 {
			return false
		}
	case expireIfSome:
		if e.expireAt == 0 {
			return false
		}
	case expireIfGreater:
		if e.expireAt == 0 || at <= e.expireAt {
			return false
		}
	case expireIfLess:
		if e.expireAt != 0 && at >= e.expireAt {
			return false
		}
	}
	if at <= now {
		sh.remove(key, e)
		return true
	}
	sh.setExpiry(e, at)
	return true
}

// ttl returns the time key has left in nanoseconds, -1 when it has no
// expiry time, or -2 when it does not exist.
func (s *store) ttl(key []byte, now int64) int64 {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now)
	switch {
	case e == nil:
		return -2
	case e.expireAt == 0:
		return -1
	}
	return e.expireAt - now
}

// size returns the number of keys, counting expired keys not yet removed
// (as Redis's DBSIZE does).
func (s *store) size() int64 {
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += int64(len(sh.m))
		sh.mu.Unlock()
	}
	return n
}

// flush deletes every key.
func (s *store) flush() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.volatile = 0
		sh.mu.Unlock()
	}
}

// sweep deletes keys expired at now, examining at most perShard entries of
// each shard that has keys with an expiry time. It returns how many it
// deleted.
func (s *store) sweep(now int64, perShard int) int {
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if sh.volatile > 0 {
			seen := 0
			for k, e := range sh.m {
				if e.expireAt != 0 && e.expireAt <= now {
					delete(sh.m, k)
					sh.volatile--
					removed++
				}
				if seen++; seen == perShard {
					break
				}
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

// parseInt parses a value as Redis does for INCR: a decimal int64 with an
// optional '-', no '+', no spaces, no leading zeros.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errNotInteger
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && (len(digits) > 1 || neg) {
		return 0, errNotInteger
	}
	var v uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errNotInteger
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, errNotInteger
		}
		v = v*10 + d
	}
	switch {
	case !neg && v <= math.MaxInt64:
		return int64(v), nil
	case neg && v <= 1<<63:
		return -int64(v), nil // -int64(1<<63) wraps to MinInt64, as wanted
	}
	return 0, errNotInteger
}
