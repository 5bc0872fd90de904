package main

// This file is the command set: the table of commands, their arity, and
// what each does to the store and replies. Arity follows Redis's
// convention: n means exactly n words including the command's name, -n at
// least n. Errors carry Redis's text, so clients that match on it (and
// people who know it) are not surprised.
//
// A command's handler appends its reply to the connection's output buffer
// and returns it; nothing here allocates for the common commands on keys
// that exist (a name is looked up without converting it to a string, and
// values are copied straight from the store into the buffer).

import (
	"math"
	"path"
	"sort"
	"strings"
	"time"
)

// session is one connection's view of the server: the store, the time its
// current batch of commands runs at, and whether it asked to leave.
type session struct {
	db   *store
	now  int64 // Unix ns, read once per batch
	quit bool  // QUIT ran: flush the replies and close
}

// command is an entry of the command table.
type command struct {
	name  string
	arity int
	run   func(s *session, out []byte, args [][]byte) []byte
}

// commands maps a lower-case name to its command. It is filled by init,
// since COMMAND COUNT reads it.
var commands map[string]*command

// init builds the command table.
func init() {
	table := []command{
		{"ping", -1, cmdPing},
		{"echo", 2, cmdEcho},
		{"set", -3, cmdSet},
		{"get", 2, cmdGet},
		{"strlen", 2, cmdStrlen},
		{"del", -2, cmdDel},
		{"exists", -2, cmdExists},
		{"incr", 2, cmdIncr},
		{"decr", 2, cmdDecr},
		{"incrby", 3, cmdIncrBy},
		{"decrby", 3, cmdDecrBy},
		{"mget", -2, cmdMGet},
		{"mset", -3, cmdMSet},
		{"expire", -3, cmdExpire},
		{"pexpire", -3, cmdPExpire},
		{"ttl", 2, cmdTTL},
		{"pttl", 2, cmdPTTL},
		{"dbsize", 1, cmdDBSize},
		{"flushall", -1, cmdFlush},
		{"flushdb", -1, cmdFlush},
		{"command", -1, cmdCommand},
		{"config", -2, cmdConfig},
		{"quit", -1, cmdQuit},
	}
	commands = make(map[string]*command, len(table))
	for i := range table {
		commands[table[i].name] = &table[i]
	}
}

// maxCommandName is the longest command name lookup considers; nothing
// longer is in the table.
const maxCommandName = 16

// lookup finds a command by name, in any case, without allocating.
func lookup(name []byte) *command {
	var lower [maxCommandName]byte
	if len(name) > len(lower) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return commands[string(lower[:len(name)])]
}

// execute runs one command and appends its reply to out.
func (s *session) execute(out []byte, args [][]byte) []byte {
	cmd := lookup(args[0])
	if cmd == nil {
		return appendError(out, unknownCommand(args))
	}
	if n := len(args); cmd.arity > 0 && n != cmd.arity || cmd.arity < 0 && n < -cmd.arity {
		return appendError(out, "ERR wrong number of arguments for '"+cmd.name+"' command")
	}
	return cmd.run(s, out, args)
}

// unknownCommand is Redis's error for a name not in the table, with the
// first few arguments quoted (each cut to 128 bytes, as Redis does).
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(clip(args[0]))
	b.WriteString("', with args beginning with: ")
	for i, a := range args[1:] {
		if i == 16 {
			break
		}
		b.WriteString("'")
		b.WriteString(clip(a))
		b.WriteString("' ")
	}
	return b.String()
}

// clip returns at most 128 bytes of a as a string.
func clip(a []byte) string {
	return string(a[:min(len(a), 128)])
}

// wrongArgs is the arity error for a command whose count is checked by
// hand (PING, MSET).
func wrongArgs(out []byte, name string) []byte {
	return appendError(out, "ERR wrong number of arguments for '"+name+"' command")
}

// errSyntax is Redis's reply to options it cannot parse.
const errSyntax = "ERR syntax error"

// equalFold reports whether a equals the lower-case ASCII word lower, in
// any case.
func equalFold(a []byte, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// cmdPing is PING [message]: PONG, or the message back.
func cmdPing(s *session, out []byte, args [][]byte) []byte {
	switch len(args) {
	case 1:
		return append(out, replyPong...)
	case 2:
		return appendBulk(out, args[1])
	}
	return wrongArgs(out, "ping")
}

// cmdEcho is ECHO message: the message back.
func cmdEcho(s *session, out []byte, args [][]byte) []byte {
	return appendBulk(out, args[1])
}

// cmdGet is GET key: the value, or null.
func cmdGet(s *session, out []byte, args [][]byte) []byte {
	return s.db.appendGet(out, args[1], s.now)
}

// cmdStrlen is STRLEN key: the value's length, 0 for a missing key.
func cmdStrlen(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, s.db.strlen(args[1], s.now))
}

// cmdSet is SET key value [NX|XX] [EX s|PX ms|KEEPTTL].
func cmdSet(s *session, out []byte, args [][]byte) []byte {
	var (
		cond     = setAlways
		expireAt int64
		keepTTL  bool
		timed    bool
	)
	for i := 3; i < len(args); i++ {
		opt := args[i]
		switch {
		case equalFold(opt, "nx") && cond != setIfExists:
			cond = setIfMissing
		case equalFold(opt, "xx") && cond != setIfMissing:
			cond = setIfExists
		case equalFold(opt, "keepttl") && !timed:
			keepTTL = true
		case (equalFold(opt, "ex") || equalFold(opt, "px")) && !timed && !keepTTL && i+1 < len(args):
			unit := time.Second
			if equalFold(opt, "px") {
				unit = time.Millisecond
			}
			i++
			n, err := parseInt(args[i])
			if err != nil {
				return appendError(out, err.Error())
			}
			at, ok := deadline(s.now, n, unit)
			if !ok || n <= 0 {
				return appendError(out, "ERR invalid expire time in 'set' command")
			}
			expireAt, timed = at, true
		default:
			return appendError(out, errSyntax)
		}
	}
	if !s.db.set(args[1], args[2], expireAt, keepTTL, cond, s.now) {
		return append(out, replyNull...)
	}
	return append(out, replyOK...)
}

// deadline returns now + n units, and false if that does not fit in an
// int64 of nanoseconds. now is not negative.
func deadline(now, n int64, unit time.Duration) (int64, bool) {
	u := int64(unit)
	if n > (math.MaxInt64-now)/u || n < math.MinInt64/u+1 {
		return 0, false
	}
	return now + n*u, true
}

// cmdDel is DEL key...: how many of the keys existed.
func cmdDel(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, s.db.del(args[1:], s.now))
}

// cmdExists is EXISTS key...: how many of the keys exist.
func cmdExists(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, s.db.exists(args[1:], s.now))
}

// cmdIncr is INCR key: the value plus one.
func cmdIncr(s *session, out []byte, args [][]byte) []byte {
	return incrBy(s, out, args[1], 1)
}

// cmdDecr is DECR key: the value minus one.
func cmdDecr(s *session, out []byte, args [][]byte) []byte {
	return incrBy(s, out, args[1], -1)
}

// cmdIncrBy is INCRBY key n: the value plus n.
func cmdIncrBy(s *session, out []byte, args [][]byte) []byte {
	n, err := parseInt(args[2])
	if err != nil {
		return appendError(out, err.Error())
	}
	return incrBy(s, out, args[1], n)
}

// cmdDecrBy is DECRBY key n: the value minus n.
func cmdDecrBy(s *session, out []byte, args [][]byte) []byte {
	n, err := parseInt(args[2])
	if err != nil {
		return appendError(out, err.Error())
	}
	if n == math.MinInt64 {
		return appendError(out, "ERR decrement would overflow")
	}
	return incrBy(s, out, args[1], -n)
}

// incrBy adds delta to key and appends the result, or the error.
func incrBy(s *session, out []byte, key []byte, delta int64) []byte {
	v, err := s.db.incr(key, delta, s.now)
	if err != nil {
		return appendError(out, err.Error())
	}
	return appendInt(out, v)
}

// cmdMGet is MGET key...: an array of the values (null for a missing key).
func cmdMGet(s *session, out []byte, args [][]byte) []byte {
	return s.db.appendMGet(out, args[1:], s.now)
}

// cmdMSet is MSET key value [key value...]: OK, all set at one instant.
func cmdMSet(s *session, out []byte, args [][]byte) []byte {
	if len(args)%2 != 1 {
		return wrongArgs(out, "mset")
	}
	s.db.mset(args[1:], s.now)
	return append(out, replyOK...)
}

// cmdExpire is EXPIRE key seconds [NX|XX|GT|LT]: 1 if the time was set.
func cmdExpire(s *session, out []byte, args [][]byte) []byte {
	return expire(s, out, args, time.Second, "expire")
}

// cmdPExpire is PEXPIRE key milliseconds [NX|XX|GT|LT].
func cmdPExpire(s *session, out []byte, args [][]byte) []byte {
	return expire(s, out, args, time.Millisecond, "pexpire")
}

// expire is EXPIRE and PEXPIRE: key, a time to live in unit, and at most
// one of NX, XX, GT, LT.
func expire(s *session, out []byte, args [][]byte, unit time.Duration, name string) []byte {
	n, err := parseInt(args[2])
	if err != nil {
		return appendError(out, err.Error())
	}
	cond := expireAlways
	if len(args) > 4 {
		return appendError(out, errSyntax)
	}
	if len(args) == 4 {
		switch opt := args[3]; {
		case equalFold(opt, "nx"):
			cond = expireIfNone
		case equalFold(opt, "xx"):
			cond = expireIfSome
		case equalFold(opt, "gt"):
			cond = expireIfGreater
		case equalFold(opt, "lt"):
			cond = expireIfLess
		default:
			return appendError(out, "ERR Unsupported option "+clip(opt))
		}
	}
	at, ok := deadline(s.now, n, unit)
	if !ok {
		return appendError(out, "ERR invalid expire time in '"+name+"' command")
	}
	if s.db.expire(args[1], at, cond, s.now) {
		return append(out, replyOne...)
	}
	return append(out, replyZero...)
}

// cmdTTL is TTL key: the seconds left, -1 without expiry, -2 for a missing key.
func cmdTTL(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, ttlIn(s.db.ttl(args[1], s.now), time.Second))
}

// cmdPTTL is PTTL key: TTL in milliseconds.
func cmdPTTL(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, ttlIn(s.db.ttl(args[1], s.now), time.Millisecond))
}

// ttlIn converts a time to live in nanoseconds to unit, rounded to the
// nearest as Redis does; the negative codes -1 and -2 pass unchanged.
func ttlIn(t int64, unit time.Duration) int64 {
	if t <= 0 {
		return t
	}
	u := int64(unit)
	q := t / u
	if t%u >= u/2 {
		q++
	}
	return q
}

// cmdDBSize is DBSIZE: the number of keys.
func cmdDBSize(s *session, out []byte, args [][]byte) []byte {
	return appendInt(out, s.db.size())
}

// cmdFlush is FLUSHALL and FLUSHDB, with an optional ASYNC or SYNC (both
// flush at once: there is one keyspace and freeing it is the collector's
// job).
func cmdFlush(s *session, out []byte, args [][]byte) []byte {
	if len(args) > 2 || len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync") {
		return appendError(out, errSyntax)
	}
	s.db.flush()
	return append(out, replyOK...)
}

// cmdCommand answers just enough of COMMAND for redis-cli and
// redis-benchmark to start: no command documentation, the count, and a
// null for each name COMMAND INFO asks about.
func cmdCommand(s *session, out []byte, args [][]byte) []byte {
	if len(args) == 1 {
		return append(out, replyEmptyList...)
	}
	switch sub := args[1]; {
	case equalFold(sub, "docs"):
		return append(out, replyEmptyList...)
	case equalFold(sub, "count") && len(args) == 2:
		return appendInt(out, int64(len(commands)))
	case equalFold(sub, "info"):
		out = appendArray(out, len(args)-2)
		for range args[2:] {
			out = append(out, "*-1\r\n"...)
		}
		return out
	}
	return appendError(out, "ERR unknown subcommand '"+clip(args[1])+"'. Try COMMAND HELP.")
}

// configParams are the parameters CONFIG GET knows, with the values
// redis-benchmark looks for: no snapshots, no append-only file.
var configParams = map[string]string{
	"save":       "",
	"appendonly": "no",
}

// cmdConfig answers CONFIG GET with the pairs of the parameters that match
// any of its glob patterns (in name order, each once); an unknown
// parameter gives an empty array. Everything else is an error.
func cmdConfig(s *session, out []byte, args [][]byte) []byte {
	if !equalFold(args[1], "get") {
		return appendError(out, "ERR unknown subcommand '"+clip(args[1])+"'. Try CONFIG HELP.")
	}
	if len(args) < 3 {
		return wrongArgs(out, "config|get")
	}
	var names []string
	for name := range configParams {
		for _, pattern := range args[2:] {
			if ok, _ := path.Match(strings.ToLower(string(pattern)), name); ok {
				names = append(names, name)
				break
			}
		}
	}
	sort.Strings(names)
	out = appendArray(out, 2*len(names))
	for _, name := range names {
		out = appendBulkString(out, name)
		out = appendBulkString(out, configParams[name])
	}
	return out
}

// cmdQuit is QUIT: OK, then the connection closes.
func cmdQuit(s *session, out []byte, args [][]byte) []byte {
	s.quit = true
	return append(out, replyOK...)
}

// batchLimit bounds the replies a connection collects before it writes
// them: past it, the connection writes what it has before it decodes more
// of its read buffer. With one read buffer, it is what a client that sends
// without reading can make the server hold (plus one reply, which may be
// larger on its own).
const batchLimit = 1 << 20

// batchEnd says why serveBatch stopped.
type batchEnd uint8

const (
	batchNeedRead batchEnd = iota // every complete command is done: read more
	batchFull                     // the replies reached batchLimit: write, then go on
	batchClose                    // QUIT or a protocol error: write, then close
)

// serveBatch runs the complete commands in d's buffer, appending their
// replies to out, until it needs more input, the replies reach batchLimit,
// or the connection must close. A protocol error appends its error reply.
// The commands run at now (Unix ns). This is the loop both server styles
// share.
func (s *session) serveBatch(d *decoder, out []byte, now int64) ([]byte, batchEnd) {
	s.now = now
	for len(out) < batchLimit {
		args, err := d.Next()
		if err != nil {
			return appendError(out, "ERR "+err.Error()), batchClose
		}
		if args == nil {
			return out, batchNeedRead
		}
		out = s.execute(out, args)
		if s.quit {
			return out, batchClose
		}
	}
	return out, batchFull
}
