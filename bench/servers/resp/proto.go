package resp

// This file is the wire format: RESP2 requests in, replies out.
//
// A request is either an array of bulk strings, what every client library
// and redis-benchmark send,
//
//	*2\r\n$3\r\nGET\r\n$1\r\nk\r\n
//
// or an inline command, a line of words separated by spaces or tabs, what
// a person types into nc (no quoting: a word is a run of other bytes):
//
//	GET k\r\n
//
// parseCommand is incremental in the simplest way: it is handed every byte
// of a connection not yet consumed, starting at a command, and either
// returns the length of the complete command at the front or says that
// more is needed, having consumed nothing. It keeps no state between
// calls, so every library can keep a partial command wherever it likes
// (its own input buffer, a session's, the caller's) and the command may
// move in memory between calls. Parsing a partial command again costs its
// length lines, not its bytes: a bulk string's body is skipped by its
// length, never scanned.
//
// Limits. A bulk string may be as long as Redis allows (512 MiB) and an
// array may hold 1,048,576 elements, but a connection holds at most
// MaxPending (64 MiB) of one command: a command known to need more is
// refused as soon as the length that says so is read, so a client cannot
// make the server buffer more than that per connection. An inline line
// may be 64 KiB long. Anything malformed is a protocol error: the server
// replies "-ERR Protocol error: ..." and closes the connection, as Redis
// does, since it can no longer tell where the next command starts.

import (
	"bytes"
	"fmt"
	"strconv"
)

const (
	// MaxPending is the most one connection holds of a command that has
	// not fully arrived; a larger command is a protocol error.
	MaxPending = 64 << 20

	maxBulkLen   = 512 << 20 // Redis's proto-max-bulk-len
	maxArrayLen  = 1 << 20   // the most elements a command may have
	maxInlineLen = 64 << 10  // Redis's limit on an inline line
	// maxLenDigits bounds the digits (and sign) of a length line: the
	// largest lengths accepted have 9 digits, so a longer run is no length
	// this server would accept.
	maxLenDigits = 12
	// maxArgv is how many arguments a command keeps: no command here reads
	// more than its name and two arguments (SET key value). Further ones
	// are only counted.
	maxArgv = 3
)

// command is a parsed request: how many arguments it has, and the first
// maxArgv of them, which alias the input.
type command struct {
	argc int
	argv [maxArgv][]byte
}

// protocolError is a request the parser cannot make sense of; its text
// follows "-ERR Protocol error: " in the reply.
type protocolError string

// Error returns "Protocol error: " and the reason.
func (e protocolError) Error() string { return "Protocol error: " + string(e) }

// The protocol errors with fixed text.
const (
	errMultibulkLen = protocolError("invalid multibulk length")
	errBulkLen      = protocolError("invalid bulk length")
	errBulkCRLF     = protocolError("expected CRLF after bulk string")
	errInlineTooBig = protocolError("too big inline request")
	errTooBig       = protocolError("request larger than 64 MiB")
)

// errExpectedDollar is an array element that is not a bulk string.
func errExpectedDollar(c byte) error {
	return protocolError(fmt.Sprintf("expected '$', got %s", quoteByte(c)))
}

// quoteByte shows a byte in an error line: a printable one as itself in
// quotes, any other as a hex escape, so the line never holds a CR or LF.
func quoteByte(c byte) string {
	if c >= ' ' && c <= '~' {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("'\\x%02x'", c)
}

// parseCommand parses the command at the front of in into cmd. It returns
// n > 0, the command's length, once the whole command is in in; n == 0
// and need, the length the command is known to have at least (more than
// len(in)), when more bytes are needed; or a protocol error. A command of
// no arguments (an empty line, "*0\r\n" or "*-1\r\n") is complete with
// cmd.argc == 0, and is to be skipped, as Redis does.
func parseCommand(in []byte, cmd *command) (n, need int, err error) {
	cmd.argc = 0
	if len(in) == 0 {
		return 0, 1, nil
	}
	if in[0] != '*' {
		return parseInline(in, cmd)
	}
	count, pos, err := parseLength(in, 0, errMultibulkLen)
	if err != nil {
		return 0, 0, err
	}
	if pos == 0 {
		return needMore(in)
	}
	if count <= 0 { // "*0" and "*-1": no command
		return pos, 0, nil
	}
	if count > maxArrayLen {
		return 0, 0, errMultibulkLen
	}
	for i := range int(count) {
		if pos == len(in) {
			return needMore(in)
		}
		if in[pos] != '$' {
			return 0, 0, errExpectedDollar(in[pos])
		}
		size, next, err := parseLength(in, pos, errBulkLen)
		if err != nil {
			return 0, 0, err
		}
		if next == 0 {
			return needMore(in)
		}
		if size < 0 || size > maxBulkLen {
			return 0, 0, errBulkLen
		}
		end := next + int(size) // where the CRLF after the string goes
		if end+2 > MaxPending {
			return 0, 0, errTooBig
		}
		// Check what has arrived of the terminator, so that a missing
		// CRLF is caught now rather than after more input.
		if len(in) > end && in[end] != '\r' || len(in) > end+1 && in[end+1] != '\n' {
			return 0, 0, errBulkCRLF
		}
		if len(in) < end+2 {
			return 0, end + 2, nil
		}
		if i < maxArgv {
			cmd.argv[i] = in[next:end:end]
		}
		pos = end + 2
	}
	cmd.argc = int(count)
	return pos, 0, nil
}

// needMore is parseCommand's answer for a command cut short in a length
// line: one more byte at least, unless the connection already holds all
// it may.
func needMore(in []byte) (n, need int, err error) {
	if len(in) >= MaxPending {
		return 0, 0, errTooBig
	}
	return 0, len(in) + 1, nil
}

// Need returns how many bytes the command at the front of rest takes at
// least, counting those in rest: more than len(rest) when rest holds only
// the start of a command, which is what Serve leaves unconsumed. A library
// that can wait for a number of bytes to arrive waits for this many before
// it calls Serve again, so that a large command arriving in pieces is
// looked at (and, where the library must copy to show it whole, copied)
// once rather than at every piece. It returns len(rest)+1 for bytes Serve
// would refuse.
func Need(rest []byte) int {
	var cmd command
	n, need, err := parseCommand(rest, &cmd)
	switch {
	case err != nil:
		return len(rest) + 1
	case n > 0:
		return n
	}
	return need
}

// parseLength parses the length line whose type byte ('*' or '$') is at
// in[at]: an optional '-', decimal digits without a leading zero, CRLF. It
// returns the value and the offset just past the line, or next == 0 when
// the line has not fully arrived. Anything else on the line is the error
// malformed.
func parseLength(in []byte, at int, malformed protocolError) (v int64, next int, err error) {
	line := in[at+1:]
	i := 0
	neg := i < len(line) && line[i] == '-'
	if neg {
		i++
	}
	digits := i
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
		if i >= maxLenDigits {
			return 0, 0, malformed
		}
		v = v*10 + int64(line[i]-'0')
	}
	switch {
	case i == len(line) || i+1 == len(line) && line[i] == '\r':
		return 0, 0, nil // the rest of the line is still to come
	case line[i] != '\r' || line[i+1] != '\n':
		return 0, 0, malformed
	case i == digits: // no digits
		return 0, 0, malformed
	case line[digits] == '0' && (i-digits > 1 || neg): // "01", "-0"
		return 0, 0, malformed
	}
	if neg {
		v = -v
	}
	return v, at + 1 + i + 2, nil
}

// parseInline parses a command sent as a line of words.
func parseInline(in []byte, cmd *command) (n, need int, err error) {
	lf := bytes.IndexByte(in, '\n')
	if lf < 0 {
		if len(in) > maxInlineLen {
			return 0, 0, errInlineTooBig
		}
		return 0, len(in) + 1, nil
	}
	if lf > maxInlineLen {
		return 0, 0, errInlineTooBig
	}
	line := in[:lf]
	if k := len(line); k > 0 && line[k-1] == '\r' {
		line = line[:k-1]
	}
	for len(line) > 0 {
		start := 0
		for start < len(line) && isInlineSpace(line[start]) {
			start++
		}
		end := start
		for end < len(line) && !isInlineSpace(line[end]) {
			end++
		}
		if end > start {
			if cmd.argc < maxArgv {
				cmd.argv[cmd.argc] = line[start:end:end]
			}
			cmd.argc++
		}
		line = line[end:]
	}
	return lf + 1, 0, nil
}

// isInlineSpace reports whether c separates the words of an inline
// command.
func isInlineSpace(c byte) bool { return c == ' ' || c == '\t' }

// equalFold reports whether b is lower (a lower-case ASCII word) in any
// case, without allocating: for a letter c, b|0x20 == c only if b is c or
// its upper case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// Replies. Each append function adds one RESP2 value to b and returns the
// extended slice, like strconv.AppendInt.

// appendBulk appends a bulk string ("$len" CRLF bytes CRLF).
func appendBulk(b, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// appendError appends the error line "-ERR " msg 'quoted' tail, with
// quoted (a name the client sent; left out when nil) clipped to 128 bytes
// and any CR or LF turned into a space, so that the line stays one line.
// It allocates nothing beyond growing b.
func appendError(b []byte, msg string, quoted []byte, tail string) []byte {
	b = append(b, "-ERR "...)
	b = appendLine(b, msg)
	if quoted != nil {
		const maxQuoted = 128
		if len(quoted) > maxQuoted {
			quoted = quoted[:maxQuoted]
		}
		b = append(b, '\'')
		b = appendLine(b, quoted)
		b = append(b, '\'')
	}
	b = appendLine(b, tail)
	return append(b, '\r', '\n')
}

// appendLine appends s with any CR or LF turned into a space.
func appendLine[S string | []byte](b []byte, s S) []byte {
	for i := range len(s) {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
