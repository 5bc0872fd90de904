package main

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzRESP feeds arbitrary bytes to the decoder and the commands, whole and
// in chunks of the fuzzed size, and checks that:
//   - nothing panics;
//   - the decoder finds the commands refDecode finds, and fails with a
//     *protocolError exactly when refDecode calls the input malformed;
//   - how the input is split into reads changes nothing, neither the
//     commands nor the replies;
//   - the replies are well-formed RESP, one per command run, and a
//     malformed input ends with one "-ERR Protocol error: ..." reply and
//     the connection closing.
//
// Seeds are in testdata/fuzz/FuzzRESP; run it with
//
//	go test -run='^$' -fuzz=FuzzRESP ./examples/kv/
func FuzzRESP(f *testing.F) {
	f.Add([]byte(multibulk("SET", "k", "v")+multibulk("GET", "k")), uint8(3))
	f.Add([]byte("PING\r\nINCR n\r\nquit\r\nPING\r\n"), uint8(0))
	f.Add([]byte("*1\r\n$-3\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		want, bad := refDecode(in)

		got, err := decodeAll(string(in), 0)
		require.Equal(t, want, got, "commands decoded")
		if bad {
			var perr *protocolError
			require.True(t, errors.As(err, &perr), "malformed input: got %v", err)
		} else {
			require.NoError(t, err)
		}
		gotChunked, errChunked := decodeAll(string(in), int(chunk%32)+1)
		require.Equal(t, got, gotChunked, "commands decoded in chunks of %d", chunk%32+1)
		require.Equal(t, err, errChunked)

		out, closed := serveAll(in, 0)
		outChunked, closedChunked := serveAll(in, int(chunk)+1)
		require.Equal(t, string(out), string(outChunked), "replies, chunks of %d", int(chunk)+1)
		require.Equal(t, closed, closedChunked)

		// One reply per command up to and including the first QUIT; then a
		// protocol error if the input was malformed and no QUIT came first.
		ran, quit := len(want), false
		for i, cmd := range want {
			if strings.EqualFold(cmd[0], "quit") {
				ran, quit = i+1, true
				break
			}
		}
		replies := splitReplies(t, out)
		wantReplies := ran
		if bad && !quit {
			wantReplies++
			require.True(t, strings.HasPrefix(replies[len(replies)-1], "-ERR Protocol error: "), "last reply %q", replies[len(replies)-1])
		}
		require.Len(t, replies, wantReplies)
		require.Equal(t, bad || quit, closed)
	})
}

// serveAll runs in through a session, fed in chunks of the given size (0:
// all at once), and returns every reply and whether the connection was to
// be closed.
func serveAll(in []byte, chunk int) (out []byte, closed bool) {
	s := newSession()
	var d decoder
	if chunk <= 0 {
		chunk = len(in) + 1
	}
	for len(in) > 0 {
		n := min(chunk, len(in))
		feed(&d, in[:n])
		in = in[n:]
		for {
			// Each batch starts empty, as on a connection whose last batch
			// was written.
			batch, end := s.serveBatch(&d, nil, t0)
			out = append(out, batch...)
			if end == batchClose {
				return out, true
			}
			if end == batchNeedRead {
				break
			}
		}
	}
	return out, false
}

// refDecode is a second decoder, written plainly: it reads the whole input
// at once, front to back, and returns the commands in it and whether it is
// malformed (rather than merely cut short). It follows the same rules as
// the decoder but shares none of its code.
func refDecode(in []byte) (cmds [][]string, malformed bool) {
	pos := 0
	for pos < len(in) {
		switch c := in[pos]; {
		case c == '*':
			n, next, st := refLength(in, pos+1)
			if st != lenOK {
				return cmds, st == lenBad
			}
			pos = next
			if n == 0 || n == -1 {
				continue
			}
			if n < 0 || n > maxArrayLen {
				return cmds, true
			}
			args := []string{}
			for range n {
				if pos == len(in) {
					return cmds, false
				}
				if in[pos] != '$' {
					return cmds, true
				}
				l, next, st := refLength(in, pos+1)
				if st != lenOK {
					return cmds, st == lenBad
				}
				if l < 0 || l > maxBulkLen {
					return cmds, true
				}
				body := next
				end := body + int(l)
				if end < len(in) && in[end] != '\r' || end+1 < len(in) && in[end+1] != '\n' {
					return cmds, true
				}
				if end+2 > len(in) {
					return cmds, false
				}
				args = append(args, string(in[body:end]))
				pos = end + 2
			}
			cmds = append(cmds, args)
		case strings.IndexByte("$+-:", c) >= 0:
			return cmds, true
		default:
			lf := bytes.IndexByte(in[pos:], '\n')
			if lf < 0 {
				return cmds, len(in)-pos > maxInlineLen
			}
			if lf > maxInlineLen {
				return cmds, true
			}
			line := strings.TrimSuffix(string(in[pos:pos+lf]), "\r")
			pos += lf + 1
			words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
			if len(words) > 0 {
				cmds = append(cmds, words)
			}
		}
	}
	return cmds, false
}

// lenStatus is how a length line came out.
type lenStatus int

const (
	lenOK    lenStatus = iota
	lenShort           // cut short: more input could complete it
	lenBad             // malformed whatever follows
)

var lengthPattern = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// refLength reads the length line after a type byte at in[at:].
func refLength(in []byte, at int) (int64, int, lenStatus) {
	rest := in[at:]
	cr := bytes.IndexByte(rest, '\r')
	body := rest
	if cr >= 0 {
		body = rest[:cr]
	}
	if len(body) > maxLenDigits || strings.Trim(string(body), "-0123456789") != "" {
		return 0, 0, lenBad
	}
	if cr < 0 || cr+1 == len(rest) {
		return 0, 0, lenShort
	}
	if rest[cr+1] != '\n' || !lengthPattern.Match(body) {
		return 0, 0, lenBad
	}
	n, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		return 0, 0, lenBad
	}
	return n, at + cr + 2, lenOK
}

// splitReplies splits a stream of RESP replies into their raw texts,
// failing the test if any is malformed or the stream ends inside one.
func splitReplies(t *testing.T, out []byte) []string {
	t.Helper()
	var replies []string
	for len(out) > 0 {
		n, ok := replyLen(out)
		require.True(t, ok, "malformed reply at %.60q", out)
		replies = append(replies, string(out[:n]))
		out = out[n:]
	}
	return replies
}

// replyLen returns the length of the RESP reply at the start of b.
func replyLen(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	lf := bytes.Index(b, []byte("\r\n"))
	if lf < 0 {
		return 0, false
	}
	line := b[1:lf]
	head := lf + 2
	switch b[0] {
	case '+', '-':
		return head, !bytes.ContainsAny(line, "\r\n")
	case ':':
		_, err := strconv.ParseInt(string(line), 10, 64)
		return head, err == nil
	case '$':
		n, err := strconv.Atoi(string(line))
		if err != nil || n < -1 {
			return 0, false
		}
		if n == -1 {
			return head, true
		}
		end := head + n
		if end+2 > len(b) || string(b[end:end+2]) != "\r\n" {
			return 0, false
		}
		return end + 2, true
	case '*':
		n, err := strconv.Atoi(string(line))
		if err != nil || n < -1 {
			return 0, false
		}
		total := head
		for range max(n, 0) {
			m, ok := replyLen(b[total:])
			if !ok {
				return 0, false
			}
			total += m
		}
		return total, true
	}
	return 0, false
}

func TestRefDecodeAgreesOnTheUnitCases(t *testing.T) {
	// The reference decoder itself, checked on the cases the unit tests
	// pin down, so a fuzz failure points at the right one.
	for _, tc := range malformed {
		_, bad := refDecode([]byte(tc.in))
		require.True(t, bad, tc.name)
	}
	cmds, bad := refDecode([]byte(pipeline))
	require.False(t, bad)
	want, err := decodeAll(pipeline, 0)
	require.NoError(t, err)
	require.Equal(t, want, cmds)
	_, bad = refDecode([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk"))
	require.False(t, bad, "cut short is not malformed")
}
