package main

// This file is the wire format: RESP2 requests in, RESP2 replies out.
//
// A request is either a multibulk (an array of bulk strings, what every
// client library sends)
//
//	*2\r\n$3\r\nGET\r\n$1\r\nk\r\n
//
// or an inline command, a line of words separated by spaces, what a person
// types into nc:
//
//	GET k\r\n
//
// The decoder owns the connection's read buffer. It is incremental: a
// command split across any number of reads is resumed where the last read
// stopped (lengths already parsed are not parsed again), and a command is
// handed out only when every byte of it has arrived. The arguments it hands
// out are slices of the read buffer, valid until the next read into it; the
// slice of them is reused from command to command, so decoding allocates
// nothing in steady state.
//
// The limits are Redis's: a bulk string of at most 512 MiB, an array of at
// most 1,048,576 elements, an inline line of at most 64 KiB. Anything else
// malformed (a bad type byte, a length that is not a plain decimal number,
// a negative length where none is allowed, a bulk string not followed by
// CRLF) is a protocol error: the server replies "-ERR Protocol error: ..."
// and closes the connection, since it can no longer tell where the next
// command starts.

import (
	"bytes"
	"fmt"
	"strconv"
)

const (
	// readBufSize is a connection's read buffer. It grows only for a single
	// command larger than itself, and shrinks back once that is consumed.
	readBufSize = 16 << 10
	// maxIdleReadBuf is the largest read buffer kept once it is empty.
	maxIdleReadBuf = 64 << 10
	// minReadSpace is the least room worth a read: with less free at the
	// end of the buffer, a partial command is moved to the front first.
	minReadSpace = 4 << 10

	maxBulkLen   = 512 << 20 // Redis's proto-max-bulk-len
	maxArrayLen  = 1 << 20   // Redis's limit on a multibulk count
	maxInlineLen = 64 << 10  // Redis's PROTO_INLINE_MAX_SIZE
	// maxLenDigits bounds a length line ("*" or "$", then this many bytes
	// of sign and digits at most, then CRLF). The largest lengths allowed
	// have 9 and 7 digits; a longer run is not a length we would accept.
	maxLenDigits = 12
	// maxKeptArgs is the largest argument slice kept between commands: a
	// command with a million arguments should not pin 40 MB per connection.
	maxKeptArgs = 4096
)

// protocolError is a request the decoder cannot make sense of. Its text is
// what the client is sent after "-ERR ".
type protocolError struct{ msg string }

// Error returns "Protocol error: " and the reason.
func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

// The protocol errors with fixed text, made once.
var (
	errMultibulkLen = &protocolError{"invalid multibulk length"}
	errBulkLen      = &protocolError{"invalid bulk length"}
	errInlineTooBig = &protocolError{"too big inline request"}
	errCountTooBig  = &protocolError{"too big count string"}
	errExpectedLF   = &protocolError{"expected LF after CR"}
	errBulkCRLF     = &protocolError{"expected CRLF after bulk string"}
)

// errUnexpectedByte is a request that begins with a RESP type byte other
// than '*': a client speaking RESP must send commands as arrays.
func errUnexpectedByte(c byte) *protocolError {
	return &protocolError{fmt.Sprintf("unexpected %s at the start of a command", quoteByte(c))}
}

// errExpectedDollar is an array element that is not a bulk string.
func errExpectedDollar(c byte) *protocolError {
	return &protocolError{fmt.Sprintf("expected '$', got %s", quoteByte(c))}
}

// quoteByte shows a byte in an error line: printable as itself in quotes,
// anything else as a hex escape, so the line never holds a CR or LF.
func quoteByte(c byte) string {
	if c >= ' ' && c <= '~' {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("'\\x%02x'", c)
}

// isRESPTypeByte reports whether c opens a RESP value that is not an
// array. Such a byte cannot start an inline command either.
func isRESPTypeByte(c byte) bool {
	switch c {
	case '$', '+', '-', ':':
		return true
	}
	return false
}

// span is an argument's place in the command being decoded, as offsets
// from the command's first byte, so it survives moving the command to the
// front of the buffer.
type span struct{ lo, hi int }

// decoder splits a byte stream into commands. The zero value is ready to
// use. Use it as: read into ReadSpace, report the count with Wrote, then
// call Next until it returns no command.
type decoder struct {
	buf  []byte
	r, w int // buf[r:w] is read and not yet consumed; a command starts at r

	// Progress on a multibulk command whose bytes have not all arrived.
	// nargs is 0 between commands.
	nargs int    // its element count
	scan  int    // where decoding resumes, as an offset from r
	bulk  int    // the length of the bulk string at scan; -1: its "$" line is next
	spans []span // the arguments complete so far
	// need is how many bytes from r the command is known to take, at
	// least: the read buffer grows to it in one step when it must grow.
	need int

	// inlineSeen is how far from r an inline line has been searched for
	// its LF, so a long line arriving in pieces is searched once.
	inlineSeen int

	args [][]byte // the last command's arguments; reused
	err  error    // the protocol error that ended decoding, for good
}

// ReadSpace returns the free end of the read buffer, never empty: the
// caller reads into it and reports how much with Wrote. To make room it
// moves a partial command to the front of the buffer, or, when that command
// fills the buffer on its own, grows the buffer (to the command's known
// size, or twice as large). The arguments Next returned are invalid from
// here on.
func (d *decoder) ReadSpace() []byte {
	if d.r == d.w {
		d.r, d.w = 0, 0
		if cap(d.buf) > maxIdleReadBuf {
			d.buf = nil
		}
	}
	if d.buf == nil {
		d.buf = make([]byte, readBufSize)
	}
	if d.r > 0 && len(d.buf)-d.w < minReadSpace {
		// Little room left: move the partial command to the front rather
		// than read a few bytes at a time. Offsets in the decoding state
		// are relative to r, so nothing else changes. A command that
		// already starts at the front is never moved, so a large one
		// arriving in pieces is not copied over and over.
		d.w = copy(d.buf, d.buf[d.r:d.w])
		d.r = 0
	}
	if d.w < len(d.buf) {
		return d.buf[d.w:]
	}
	size := 2 * len(d.buf)
	if d.need > len(d.buf) && d.need < size {
		size = d.need
	}
	grown := make([]byte, size)
	copy(grown, d.buf[:d.w])
	d.buf = grown
	return d.buf[d.w:]
}

// Wrote records that n bytes were read into the slice ReadSpace returned.
func (d *decoder) Wrote(n int) { d.w += n }

// Buffered returns how many bytes are read and not yet consumed.
func (d *decoder) Buffered() int { return d.w - d.r }

// Next returns the next complete command, as arguments that alias the read
// buffer (valid until the next ReadSpace), or nil when the rest of the
// command has not arrived yet. A malformed request yields a
// *protocolError, and Next returns that error from then on.
func (d *decoder) Next() ([][]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	for {
		if d.nargs == 0 {
			if d.r == d.w {
				return nil, nil
			}
			c := d.buf[d.r]
			if c != '*' {
				if isRESPTypeByte(c) {
					return d.fail(errUnexpectedByte(c))
				}
				args, ok, err := d.inline()
				if err != nil || !ok {
					return nil, err
				}
				if len(args) == 0 {
					continue // an empty line
				}
				return args, nil
			}
			n, next, ok, err := d.length(0)
			if err != nil {
				return d.fail(err)
			}
			if !ok {
				return nil, nil
			}
			switch {
			case n == 0 || n == -1:
				// An empty or null array: no command, as in Redis.
				d.r += next
				continue
			case n < 0 || n > maxArrayLen:
				return d.fail(errMultibulkLen)
			}
			d.nargs, d.scan, d.bulk = int(n), next, -1
			d.spans = d.spans[:0]
		}
		args, ok, err := d.multibulk()
		if err != nil || !ok {
			return nil, err
		}
		return args, nil
	}
}

// fail ends decoding with err.
func (d *decoder) fail(err error) ([][]byte, error) {
	d.err = err
	return nil, err
}

// multibulk goes on with the elements of the array whose header has been
// read, and returns them once all have arrived.
func (d *decoder) multibulk() ([][]byte, bool, error) {
	for len(d.spans) < d.nargs {
		if d.bulk < 0 {
			if d.r+d.scan >= d.w {
				return nil, false, nil
			}
			if c := d.buf[d.r+d.scan]; c != '$' {
				_, err := d.fail(errExpectedDollar(c))
				return nil, false, err
			}
			n, next, ok, err := d.length(d.scan)
			if err == nil && (n < 0 || n > maxBulkLen) {
				err = errBulkLen
			}
			if err != nil {
				if err == errMultibulkLen {
					err = errBulkLen
				}
				_, err = d.fail(err)
				return nil, false, err
			}
			if !ok {
				return nil, false, nil
			}
			d.bulk, d.scan = int(n), next
		}
		end := d.scan + d.bulk // where the CRLF after the string goes
		have := d.w - d.r
		// Check the terminator bytes that have arrived, so a missing CRLF
		// is caught at once rather than after more data.
		if have > end && d.buf[d.r+end] != '\r' || have > end+1 && d.buf[d.r+end+1] != '\n' {
			_, err := d.fail(errBulkCRLF)
			return nil, false, err
		}
		if have < end+2 {
			d.need = end + 2
			return nil, false, nil
		}
		d.spans = append(d.spans, span{d.scan, end})
		d.scan, d.bulk = end+2, -1
	}

	args := d.args[:0]
	base := d.buf[d.r:]
	for _, s := range d.spans {
		args = append(args, base[s.lo:s.hi:s.hi])
	}
	d.r += d.scan
	d.nargs, d.scan, d.need = 0, 0, 0
	if cap(d.spans) > maxKeptArgs {
		d.spans = nil
	}
	d.keep(args)
	return args, true, nil
}

// keep stores args for reuse by the next command, unless it grew too
// large to keep.
func (d *decoder) keep(args [][]byte) {
	if cap(args) > maxKeptArgs {
		d.args = nil
		return
	}
	d.args = args
}

// length parses the length line whose type byte ('*' or '$') is at offset
// at from r: optional '-', decimal digits without leading zeros, CRLF. It
// returns the value and the offset just past the CRLF; ok is false when
// the line has not fully arrived. A malformed line is errMultibulkLen (the
// caller renames it for a bulk string).
func (d *decoder) length(at int) (n int64, next int, ok bool, err error) {
	line := d.buf[d.r+at+1 : d.w]
	for i, c := range line {
		if c == '\r' {
			if i+1 == len(line) {
				return 0, 0, false, nil
			}
			if line[i+1] != '\n' {
				return 0, 0, false, errExpectedLF
			}
			v, valid := parseLength(line[:i])
			if !valid {
				return 0, 0, false, errMultibulkLen
			}
			return v, at + 1 + i + 2, true, nil
		}
		if i >= maxLenDigits {
			return 0, 0, false, errCountTooBig
		}
		if (c < '0' || c > '9') && c != '-' {
			return 0, 0, false, errMultibulkLen
		}
	}
	return 0, 0, false, nil
}

// parseLength parses a RESP length: an optional '-' and at most
// maxLenDigits digits, no leading zeros, no "-0".
func parseLength(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > maxLenDigits || b[0] == '0' && (len(b) > 1 || neg) {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// inline decodes a command sent as a line of words. ok is false when its
// LF has not arrived yet; an empty line gives no arguments.
func (d *decoder) inline() (args [][]byte, ok bool, err error) {
	pending := d.buf[d.r:d.w]
	i := bytes.IndexByte(pending[d.inlineSeen:], '\n')
	if i < 0 {
		if len(pending) > maxInlineLen {
			_, err := d.fail(errInlineTooBig)
			return nil, false, err
		}
		d.inlineSeen = len(pending)
		return nil, false, nil
	}
	lf := d.inlineSeen + i
	if lf > maxInlineLen {
		_, err := d.fail(errInlineTooBig)
		return nil, false, err
	}
	line := pending[:lf]
	d.r += lf + 1
	d.inlineSeen = 0
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}

	args = d.args[:0]
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
			args = append(args, line[start:end:end])
		}
		line = line[end:]
	}
	d.keep(args)
	return args, true, nil
}

// isInlineSpace reports whether c separates the words of an inline
// command.
func isInlineSpace(c byte) bool { return c == ' ' || c == '\t' }

// Replies. Each append function adds one RESP2 value to b and returns the
// extended slice, like strconv.AppendInt.

// Replies that never change, ready to append.
var (
	replyOK        = []byte("+OK\r\n")
	replyPong      = []byte("+PONG\r\n")
	replyNull      = []byte("$-1\r\n")
	replyZero      = []byte(":0\r\n")
	replyOne       = []byte(":1\r\n")
	replyEmptyList = []byte("*0\r\n")
)

// appendError appends an error line ("-msg"). msg starts with an error
// code such as "ERR"; any CR or LF in it becomes a space, since the line
// must stay one line.
func appendError(b []byte, msg string) []byte {
	b = append(b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

// appendInt appends an integer (":n").
func appendInt(b []byte, n int64) []byte {
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// appendBulk appends a bulk string ("$len" CRLF bytes CRLF).
func appendBulk(b, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// appendBulkString is appendBulk for a string.
func appendBulkString(b []byte, s string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// appendArray appends the header of an array of n elements; the caller
// appends the elements.
func appendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
