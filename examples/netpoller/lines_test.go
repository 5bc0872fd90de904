package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// feed pushes chunks through a lineBuffer as reads would, and returns the
// answers and whether every chunk was accepted.
func feed(b *lineBuffer, chunks ...string) (string, bool) {
	var out []byte
	for _, c := range chunks {
		for len(c) > 0 {
			n := copy(b.space(), c)
			c = c[n:]
			var ok bool
			if out, ok = b.wrote(n, out); !ok {
				return string(out), false
			}
		}
	}
	return string(out), true
}

func TestLinesAreAnsweredInUpperCase(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
		rest   string
	}{
		{"one line", []string{"hello\n"}, "HELLO\n", ""},
		{"two in one read", []string{"a\nb\n"}, "A\nB\n", ""},
		{"split across reads", []string{"hel", "lo wor", "ld\nnext"}, "HELLO WORLD\n", "NEXT"},
		{"crlf kept", []string{"get\r\n"}, "GET\r\n", ""},
		{"empty lines", []string{"\n\n"}, "\n\n", ""},
		{"utf-8", []string{"héllo wörld ñ\n"}, "HÉLLO WÖRLD Ñ\n", ""},
		{"a rune split across reads", []string{"caf\xc3", "\xa9\n"}, "CAFÉ\n", ""},
		{"invalid utf-8 kept", []string{"a\xffb\xc3(\n"}, "A\xffB\xc3(\n", ""},
		{"exactly the longest line", []string{strings.Repeat("x", maxLine-1) + "\n"}, strings.Repeat("X", maxLine-1) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b lineBuffer
			out, ok := feed(&b, tc.chunks...)
			require.True(t, ok)
			require.Equal(t, tc.want, out)
			require.Equal(t, tc.rest, string(b.rest(nil)))
			require.Empty(t, b.rest(nil), "rest empties the buffer")
		})
	}
}

func TestAnOverlongLineIsRefused(t *testing.T) {
	var b lineBuffer
	out, ok := feed(&b, "fine\n", strings.Repeat("y", maxLine))
	require.False(t, ok)
	require.Equal(t, "FINE\n"+string(errLineTooLong), out)
	require.Empty(t, b.rest(nil))
}

func FuzzAppendUpper(f *testing.F) {
	for _, s := range []string{"", "hello", "ÀÉÎõü", "a\xffb", "ǆ ß ﬀ", "\xed\xa0\x80", "ɐ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendUpper(nil, []byte(s)))
		if utf8.ValidString(s) {
			require.Equal(t, strings.ToUpper(s), got)
			return
		}
		// Bytes that are not UTF-8 stay; what is UTF-8 around them is
		// upper-cased, so the count of invalid bytes is the same.
		require.Equal(t, invalidBytes(s), invalidBytes(got))
	})
}

func invalidBytes(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n++
		}
		i += size
	}
	return n
}
