package main

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// The protocol: the client sends lines ending in "\n"; each comes back in
// upper case (unicode.ToUpper, rune by rune; bytes that are not UTF-8
// come back as they were). A last line without "\n" is answered when the
// client shuts down its side. A line longer than maxLine bytes is refused
// with errLineTooLong, after which the server answers nothing more and
// shuts down its side; it reads and discards the rest until the client
// closes.

// maxLine is the longest line served, "\n" included: the size of each
// connection's input buffer.
const maxLine = 4096

var errLineTooLong = []byte("ERR line too long\n")

// lineBuffer splits a stream into lines. in[:have] holds what was read
// and not yet answered: no "\n" in it.
type lineBuffer struct {
	in   [maxLine]byte
	have int
}

// space is where the next read goes.
func (b *lineBuffer) space() []byte { return b.in[b.have:] }

// wrote takes in n bytes read into space(), appends the answer to every
// line they complete to out, and returns out. It reports false, with
// errLineTooLong appended and the buffer emptied, when the buffer is full
// without a line in it.
func (b *lineBuffer) wrote(n int, out []byte) ([]byte, bool) {
	start, scan := 0, b.have
	b.have += n
	for {
		i := bytes.IndexByte(b.in[scan:b.have], '\n')
		if i < 0 {
			break
		}
		end := scan + i + 1
		out = appendUpper(out, b.in[start:end])
		start, scan = end, end
	}
	b.have = copy(b.in[:], b.in[start:b.have])
	if b.have == len(b.in) {
		b.have = 0
		return append(out, errLineTooLong...), false
	}
	return out, true
}

// rest appends the answer to the unterminated last line, if any, to out.
func (b *lineBuffer) rest(out []byte) []byte {
	if b.have > 0 {
		out = appendUpper(out, b.in[:b.have])
		b.have = 0
	}
	return out
}

// appendUpper appends line in upper case to dst. Bytes that are not UTF-8
// are copied as they are.
func appendUpper(dst, line []byte) []byte {
	for i := 0; i < len(line); {
		c := line[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToUpper(r))
		}
		i += size
	}
	return dst
}
