package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/metalio/metal/task"
	"github.com/stretchr/testify/require"
)

// drain takes everything queued in m's outbox, as its writer would.
func drain(t *testing.T, m *member) string {
	t.Helper()
	buf, overflow := m.out.collect(nil, true, task.Waker{})
	require.False(t, overflow, "outbox overflowed")
	if len(buf) > 0 {
		m.out.wrote(len(buf))
	}
	return string(buf)
}

// joinAs returns a session in r that chose nick, its prompt and welcome
// drained.
func joinAs(t *testing.T, r *room, nick string) *session {
	t.Helper()
	s := newSession(r)
	s.feed([]byte(nick + "\n"))
	require.Equal(t, joined, s.state)
	got := drain(t, s.me)
	require.True(t, strings.HasPrefix(got, msgPrompt+"* joined as "+nick+"\n* online:"), got)
	return s
}

// splitLines runs a lineSplitter over the chunks and records what it
// reports ("!" for a line too long).
func splitLines(chunks ...string) []string {
	var s lineSplitter
	var got []string
	for _, c := range chunks {
		s.feed([]byte(c), func(l []byte, tooLong bool) bool {
			if tooLong {
				got = append(got, "!")
			} else {
				got = append(got, string(l))
			}
			return true
		})
	}
	return got
}

// LF ends a line and a CR just before it is dropped; a CR elsewhere stays.
func TestLinesAreSplitOnNewlineWithOptionalCR(t *testing.T) {
	require.Equal(t, []string{"a", "b", "", "c"}, splitLines("a\nb\r\n\nc\n"))
	// A lone CR inside a line stays (and makes it refused later); only the
	// one before the newline goes.
	require.Equal(t, []string{"x\ry"}, splitLines("x\ry\r\n"))
	require.Equal(t, []string{""}, splitLines("\r\n"))
	require.Empty(t, splitLines("no newline yet"))
}

// A line cut across reads, even byte by byte, comes out whole.
func TestLinesSplitAcrossReadsAreReassembled(t *testing.T) {
	require.Equal(t, []string{"hello world", "second"}, splitLines("hel", "lo wo", "rld\nsec", "ond\r", "\n"))
	// Byte by byte.
	var chunks []string
	for _, b := range []byte("one\r\ntwo\n") {
		chunks = append(chunks, string(b))
	}
	require.Equal(t, []string{"one", "two"}, splitLines(chunks...))
}

// maxLine bytes pass; one more is reported once and the rest of that line
// skipped.
func TestLineAtTheBoundIsKeptAndOneByteMoreIsDropped(t *testing.T) {
	full := strings.Repeat("x", maxLine)
	require.Equal(t, []string{full}, splitLines(full+"\n"))
	require.Equal(t, []string{full}, splitLines(full+"\r\n"))
	require.Equal(t, []string{full}, splitLines(full[:100], full[100:]+"\r", "\n"))
	// One more byte: reported once, the rest of the line skipped, and
	// the next line is back to normal.
	require.Equal(t, []string{"!", "next"}, splitLines(full+"y\nnext\n"))
	require.Equal(t, []string{"!", "next"}, splitLines(full[:10], full[10:]+"y", "zz", "z\nnext\n"))
	// A huge line without a newline is reported as soon as it passes the
	// bound, without waiting for its end.
	require.Equal(t, []string{"!"}, splitLines(strings.Repeat("z", 3*maxLine)))
}

// Nicks: printable, no spaces or angle brackets, no leading slash, at most
// maxNick characters.
func TestNickValidation(t *testing.T) {
	for _, ok := range []string{"a", "alice", "Ünïcödé", "bob_42", "x-y.z", strings.Repeat("n", maxNick), strings.Repeat("é", maxNick), "*star"} {
		require.True(t, validNick(ok), ok)
	}
	for _, bad := range []string{"", "two words", "tab\there", "<alice>", "a>b", "/quit", strings.Repeat("n", maxNick+1), "nul\x00", "esc\x1b[31m", "\xff\xfe", "zero\u200bwidth"} {
		require.False(t, validNick(bad), "%q", bad)
	}
}

// Message lines: valid UTF-8 without control characters but tab.
func TestMessageTextValidation(t *testing.T) {
	for _, ok := range []string{"hello", "tab\tok", "ünïcödé ✓", "<b>not html</b>", "* looks like a notice"} {
		require.True(t, validText([]byte(ok)), ok)
	}
	for _, bad := range []string{"nul\x00", "bell\a", "esc\x1b[2J", "del\x7f", "cr\rinside", "\xff", "\xc3", "c1\u0085", "\ufffd"} {
		require.False(t, validText([]byte(bad)), "%q", bad)
	}
}

// An empty, invalid or taken nick (in any case) is refused and asked again,
// silently for the others; a good one is trimmed and announced.
func TestNickIsAskedForUntilAValidFreeOneIsGiven(t *testing.T) {
	r := newRoom()
	alice := joinAs(t, r, "alice")

	s := newSession(r)
	require.Equal(t, msgPrompt, drain(t, s.me))
	s.feed([]byte("\n"))
	require.Equal(t, msgBadNick+msgAskAgain, drain(t, s.me))
	s.feed([]byte("two words\n"))
	require.Equal(t, msgBadNick+msgAskAgain, drain(t, s.me))
	s.feed([]byte("ALICE\n")) // taken, whatever the case
	require.Equal(t, msgNickTaken+msgAskAgain, drain(t, s.me))
	require.Equal(t, awaitingNick, s.state)
	require.Empty(t, drain(t, alice.me), "refused nicks are not announced")

	s.feed([]byte("  bob \r\n")) // trimmed
	require.Equal(t, "* joined as bob\n* online: alice bob\n", drain(t, s.me))
	require.Equal(t, "* bob joined\n", drain(t, alice.me))
}

// A line reaches every other member, not the sender; "//" escapes a slash.
func TestLinesGoToEveryoneElse(t *testing.T) {
	r := newRoom()
	alice, bob, carol := joinAs(t, r, "alice"), joinAs(t, r, "bob"), joinAs(t, r, "carol")
	drain(t, alice.me)
	drain(t, bob.me)

	alice.feed([]byte("hi all\n\n//slash\n"))
	require.Empty(t, drain(t, alice.me), "no echo to the sender; empty lines ignored")
	require.Equal(t, "<alice> hi all\n<alice> /slash\n", drain(t, bob.me))
	require.Equal(t, "<alice> hi all\n<alice> /slash\n", drain(t, carol.me))
}

// Control characters, invalid UTF-8 and over-long lines get an error to
// the sender and nothing to the others.
func TestRefusedLinesAreNotForwarded(t *testing.T) {
	r := newRoom()
	alice, bob := joinAs(t, r, "alice"), joinAs(t, r, "bob")
	drain(t, alice.me)

	alice.feed([]byte("evil\x1b[2J\nnul\x00\nbad\xff\n" + strings.Repeat("x", maxLine+1) + "\nfine\n"))
	require.Equal(t, msgBadLine+msgBadLine+msgBadLine+msgTooLong, drain(t, alice.me))
	require.Equal(t, "<alice> fine\n", drain(t, bob.me))
}

// /who, /help, /nick in its right and wrong uses, unknown commands and /quit.
func TestCommands(t *testing.T) {
	r := newRoom()
	alice, bob := joinAs(t, r, "alice"), joinAs(t, r, "bob")
	drain(t, alice.me)

	bob.feed([]byte("/who\n"))
	require.Equal(t, "* online: alice bob\n", drain(t, bob.me))

	bob.feed([]byte("/help\n/frobnicate\n/nick\n/nick no good\n/nick Alice\n"))
	require.Equal(t, msgHelp+msgUnknownCmd+msgNickUsage+msgBadNick+msgNickTaken, drain(t, bob.me))
	require.Empty(t, drain(t, alice.me))

	bob.feed([]byte("/nick robert\n"))
	require.Equal(t, "* you are now robert\n", drain(t, bob.me))
	require.Equal(t, "* bob is now robert\n", drain(t, alice.me))
	// The old nick is free again; a change of case of one's own is fine.
	bob.feed([]byte("/nick Robert\nhello\n"))
	require.Equal(t, "* you are now Robert\n", drain(t, bob.me))
	require.Equal(t, "* robert is now Robert\n<Robert> hello\n", drain(t, alice.me))
	newBob := joinAs(t, r, "bob")
	require.Equal(t, "* bob joined\n", drain(t, alice.me))
	require.Equal(t, "* bob joined\n", drain(t, bob.me))

	alice.feed([]byte("/quit\nignored\n"))
	require.Equal(t, msgBye, drain(t, alice.me))
	require.Equal(t, gone, alice.state)
	require.Equal(t, "* alice left\n", drain(t, bob.me))
	require.Equal(t, "* alice left\n", drain(t, newBob.me))
	alice.feed([]byte("still ignored\n"))
	require.Empty(t, drain(t, bob.me))
}

// /quit at the nick prompt says goodbye and announces nothing.
func TestQuitBeforeChoosingANick(t *testing.T) {
	r := newRoom()
	alice := joinAs(t, r, "alice")
	s := newSession(r)
	s.feed([]byte("/quit\n"))
	require.Equal(t, gone, s.state)
	require.Equal(t, msgPrompt+msgBye, drain(t, s.me))
	require.Empty(t, drain(t, alice.me), "nobody is told about a client that never joined")
}

// Ending a session twice announces it once and closes its outbox.
func TestEndOfConnectionIsAnnouncedOnce(t *testing.T) {
	r := newRoom()
	alice, bob := joinAs(t, r, "alice"), joinAs(t, r, "bob")
	drain(t, alice.me)
	bob.end(reasonQuit, false)
	bob.end(reasonTooSlow, false)
	require.Equal(t, "* bob left\n", drain(t, alice.me))
	require.Empty(t, r.members["bob"])
	require.False(t, bob.me.out.push([]byte("x")), "a closed outbox takes nothing")
}

// A member that never drains overflows and is marked for disconnection
// while the member that reads gets every line.
func TestOutboxOverflowMarksTheClientAndKeepsOthersServed(t *testing.T) {
	r := newRoom()
	alice, slow := joinAs(t, r, "alice"), joinAs(t, r, "slow")
	bob := joinAs(t, r, "bob")
	drain(t, alice.me)
	line := strings.Repeat("y", 1000) + "\n"
	sent := 0
	for range outboxLimit/1000 + 10 {
		bob.feed([]byte(line))
		sent++
		// alice reads; slow never does.
		require.Equal(t, "<bob> "+line, drain(t, alice.me))
	}
	_, overflow := slow.me.out.collect(nil, true, task.Waker{})
	require.True(t, overflow)
	require.Greater(t, sent*1000, outboxLimit)
	// Its task ends the session; the others hear why.
	slow.end(reasonTooSlow, false)
	require.Equal(t, "* slow left (too slow)\n", drain(t, alice.me))
}

// wakeCounter counts wakes, standing in for a client task.
type wakeCounter struct{ n int }

// Wake counts a wake.
func (w *wakeCounter) Wake() { w.n++ }

// A broadcast wakes the waker the receiver's task left in its outbox.
func TestBroadcastWakesTheReceiversTask(t *testing.T) {
	r := newRoom()
	alice, bob := joinAs(t, r, "alice"), joinAs(t, r, "bob")
	drain(t, alice.me)
	var w wakeCounter
	_, overflow := alice.me.out.collect(nil, true, task.NewWaker(&w))
	require.False(t, overflow)
	bob.feed([]byte("ping\n"))
	require.Equal(t, 1, w.n)
	require.Equal(t, "<bob> ping\n", drain(t, alice.me))
}

// Bytes the writer took but has not sent still count against the limit.
func TestInFlightBytesCountAgainstTheLimit(t *testing.T) {
	var o outbox
	require.True(t, o.push(bytes.Repeat([]byte("a"), outboxLimit-10)))
	buf, _ := o.collect(nil, true, task.Waker{})
	require.Len(t, buf, outboxLimit-10)
	// Taken by the writer but not yet sent: still counted.
	require.True(t, o.push(make([]byte, 10)))
	require.False(t, o.push(make([]byte, 1)))
	_, overflow := o.collect(buf, false, task.Waker{})
	require.True(t, overflow)
}

// FuzzChatLine feeds arbitrary client input to a joined session, in reads
// of the server's size and then byte by byte and in 7-byte pieces, and
// checks that nothing panics, that the split does not matter, and that
// whatever reaches another client is well-formed.
func FuzzChatLine(f *testing.F) {
	for _, seed := range []string{
		"hello\n", "hello\r\n", "\r\n", "\r", "\r\r\r\n", "\n\n\n",
		"/who\n/nick bob2\n/quit\n", "//not a command\n", "/nick \n", "/nick a b\n",
		"nul\x00byte\n", "\xff\xfe\n", "\xe2\x82\n", "esc\x1b]0;title\a\n",
		strings.Repeat("x", maxLine) + "\n", strings.Repeat("x", maxLine+1) + "\nafter\n",
		strings.Repeat("long line without end ", 400),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // long inputs find nothing more, only slow the fuzzer down
		}
		whole := runFuzzSession(t, data, readSize)
		require.Equal(t, whole, runFuzzSession(t, data, 1), "output depends on how the input was split")
		require.Equal(t, whole, runFuzzSession(t, data, 7), "output depends on how the input was split")
	})
}

// runFuzzSession makes a room of "peer" and a session that joins as
// "fuzzer" and is then fed data in reads of chunk bytes, both clients
// reading everything after each; it returns what each received.
func runFuzzSession(t *testing.T, data []byte, chunk int) [2]string {
	r := newRoom()
	peer := joinAs(t, r, "peer")
	s := newSession(r)
	s.feed([]byte("fuzzer\n"))
	drain(t, s.me)
	drain(t, peer.me)
	var own, others strings.Builder
	for len(data) > 0 {
		n := min(chunk, len(data))
		s.feed(data[:n])
		data = data[n:]
		own.WriteString(drain(t, s.me))
		others.WriteString(drain(t, peer.me))
	}
	for _, l := range strings.SplitAfter(others.String(), "\n") {
		if l == "" {
			continue
		}
		require.True(t, strings.HasSuffix(l, "\n"), "unterminated line %q", l)
		body := l[:len(l)-1]
		require.True(t, utf8.ValidString(body), "%q", l)
		require.True(t, validText([]byte(body)), "%q", l)
		require.LessOrEqual(t, len(body), maxLine+len("<> ")+utf8.UTFMax*maxNick, "%q", l)
		require.True(t, strings.HasPrefix(body, "<") || strings.HasPrefix(body, "* "), "%q", l)
	}
	for _, l := range strings.SplitAfter(own.String(), "\n") {
		require.True(t, l == "" || strings.HasSuffix(l, "\n"), "unterminated line %q", l)
	}
	return [2]string{own.String(), others.String()}
}
