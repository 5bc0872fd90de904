package main

// The chat protocol, with no sockets in sight: framing bytes into lines,
// validating nicks and messages, the commands, and the room that fans lines
// out to every client's bounded outbox. server.go moves bytes between these
// and the sockets; the tests and FuzzChatLine drive them directly.
//
// What a client sees:
//
//	welcome; your nick?          on connect (and again after a refused nick)
//	! nick taken                 errors begin with "! " (nicks are unique, whatever their case)
//	* joined as alice            notices begin with "* "
//	* online: alice bob          the sorted nicks, on joining and on /who
//	<bob> hi there               a line from someone else (never your own)
//	* carol joined               carol chose her nick
//	* carol is now caz           carol ran /nick caz
//	* caz left                   /quit, end of stream, or a lost connection
//	* dave left (too slow)       dave's outbox overflowed: he was dropped
//
// Lines end with "\n"; a "\r" before it is dropped, so telnet and nc -C
// both work. Every other byte below 0x20 (except tab), DEL and invalid
// UTF-8 make a message line refused with an error rather than forwarded,
// so nobody can send terminal escape sequences to the others. Empty lines
// are ignored. A line starting with "/" is a command (/quit, /nick NEW,
// /who, /help); "//" sends a line that starts with "/".
//
// A line longer than maxLine bytes is refused with an error as soon as it
// passes the bound, and the rest of it, up to the next newline, is dropped
// unread: the client stays connected. This bounds what a client costs the
// server while it types (one maxLine buffer), without punishing an
// accidental paste.

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/metalio/metal/task"
)

const (
	// maxLine bounds a line's content in bytes, without its "\r\n".
	maxLine = 4096
	// maxNick bounds a nick in characters (runes).
	maxNick = 32
	// outboxLimit bounds the bytes waiting to be sent to one client:
	// queued lines plus the part of a write still in flight. 256 KiB is
	// ~60 maximal lines or thousands of ordinary ones: a reader that is
	// merely slow catches up long before, and one that stopped reading
	// costs the server no more than this.
	outboxLimit = 256 << 10
)

// Server messages. Each is one line; those that need a nick are built by
// the functions that send them from the notice pieces.
const (
	msgPrompt      = "welcome; your nick?\n"
	msgAskAgain    = "your nick?\n"
	msgBadNick     = "! a nick is 1-32 printable characters, without spaces, '<' or '>', not starting with '/'\n"
	msgNickTaken   = "! nick taken\n"
	msgTooLong     = "! line too long (max 4096 bytes); dropped\n"
	msgBadLine     = "! line refused: control characters or invalid UTF-8\n"
	msgUnknownCmd  = "! unknown command; try /help\n"
	msgNickUsage   = "! usage: /nick NEWNICK\n"
	msgHelp        = "* commands: /who lists who is here, /nick NEW renames you, /quit leaves; start a line with // to send one that begins with /\n"
	msgBye         = "* bye\n"
	noticeLeft     = " left"
	noticeJoined   = " joined"
	noticeRenamed  = " is now "
	noticeOnline   = "* online:"
	noticeJoinedAs = "* joined as "
	noticeYouAre   = "* you are now "
)

// Why a client left, as appended to "* nick left".
const (
	reasonQuit    = ""            // /quit, end of stream, a lost connection
	reasonTooSlow = " (too slow)" // its outbox overflowed
)

var errNickTaken = errors.New("nick taken")

// lineSplitter cuts a byte stream into lines of at most maxLine bytes. It
// keeps the start of a line that has not ended yet, so reads may split
// lines anywhere. The zero value is ready.
type lineSplitter struct {
	buf []byte // the unfinished line so far (at most maxLine+1 bytes: a "\r" may follow the content)
	// discarding is set once the current line passed maxLine: the rest of
	// it, up to and including its newline, is dropped.
	discarding bool
}

// feed splits p into lines and calls line for each, without its "\n" or
// a "\r" before it. A line longer than maxLine is reported once, with
// tooLong set and no content, as soon as it passes the bound; its rest is
// then skipped. feed stops early, keeping nothing, when line returns false.
// The slice passed to line is valid only during the call.
func (s *lineSplitter) feed(p []byte, line func(l []byte, tooLong bool) bool) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if s.discarding {
			if i < 0 {
				return
			}
			s.discarding = false
			p = p[i+1:]
			continue
		}
		if i < 0 {
			// No newline yet: keep what fits, or give up on the line.
			if len(s.buf)+len(p) > maxLine+1 {
				s.buf = s.buf[:0]
				s.discarding = true
				if !line(nil, true) {
					return
				}
				continue
			}
			s.buf = append(s.buf, p...)
			return
		}
		l := p[:i]
		p = p[i+1:]
		if len(s.buf) > 0 {
			// The line began in an earlier read.
			if len(s.buf)+len(l) > maxLine+1 {
				s.buf = s.buf[:0]
				if !line(nil, true) {
					return
				}
				continue
			}
			s.buf = append(s.buf, l...)
			l = s.buf
			s.buf = s.buf[:0]
		}
		l = bytes.TrimSuffix(l, []byte{'\r'})
		if len(l) > maxLine {
			if !line(nil, true) {
				return
			}
			continue
		}
		if !line(l, false) {
			return
		}
	}
}

// validNick reports whether nick (already trimmed) may be used: 1 to
// maxNick printable characters, none of them a space, '<' or '>' (which
// would make "<nick> text" ambiguous), and not starting with '/'.
func validNick(nick string) bool {
	if nick == "" || nick[0] == '/' || !utf8.ValidString(nick) || utf8.RuneCountInString(nick) > maxNick {
		return false
	}
	for _, r := range nick {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// nickKey is the key a nick is unique under: nicks differing only in case
// are the same nick, so nobody can pose as "Alice" beside "alice".
func nickKey(nick string) string { return strings.ToLower(nick) }

// validText reports whether a message line may be forwarded: valid UTF-8
// with no control characters but tab.
func validText(l []byte) bool {
	for len(l) > 0 {
		c := l[0]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return false
			}
			l = l[1:]
			continue
		}
		r, size := utf8.DecodeRune(l)
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false // invalid UTF-8 (or U+FFFD itself), or a C1 control
		}
		l = l[size:]
	}
	return true
}

// outbox is one client's bounded queue of outgoing bytes, shared between
// the client's own task (the only reader) and every task that broadcasts
// to it. Appending never waits: it either fits, or the outbox overflows,
// drops everything from then on, and the client is disconnected by its
// task. The task swaps its drained write buffer for the queued bytes, so
// steady-state traffic allocates nothing.
type outbox struct {
	mu       sync.Mutex
	pending  []byte     // queued, not yet taken by the writer
	inflight int        // taken by the writer, not yet accepted by the kernel
	overflow bool       // the limit was passed: the client must go
	closed   bool       // the client left: appends are dropped
	waker    task.Waker // the client's task, woken by every append
}

// push queues p and wakes the client's task. It reports false, queueing
// nothing, once the outbox is closed or has overflowed; the push that
// passes the limit marks it overflowed (and still wakes the task, so it
// notices).
func (o *outbox) push(p []byte) bool { return pushBytes(o, p) }

// pushString is push for a constant.
func (o *outbox) pushString(s string) bool { return pushBytes(o, s) }

// pushBytes is push for either kind of byte sequence.
func pushBytes[B string | []byte](o *outbox, p B) bool {
	o.mu.Lock()
	if o.closed || o.overflow {
		o.mu.Unlock()
		return false
	}
	ok := len(o.pending)+o.inflight+len(p) <= outboxLimit
	if ok {
		o.pending = append(o.pending, p...)
	} else {
		o.overflow = true
		o.pending = o.pending[:0]
	}
	w := o.waker
	o.mu.Unlock()
	w.Wake()
	return ok
}

// collect is the writer's side, called on every poll of the client's
// task: it records w as the waker for later appends and reports whether
// the outbox overflowed. When drained is true (the writer sent all of buf)
// it swaps buf for the queued bytes and returns them to be written next
// (empty when nothing is queued); otherwise it returns buf unchanged.
func (o *outbox) collect(buf []byte, drained bool, w task.Waker) (next []byte, overflow bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.waker.WillWake(w) {
		o.waker = w
	}
	if o.overflow {
		return buf, true
	}
	if !drained {
		return buf, false
	}
	if len(o.pending) == 0 {
		return buf[:0], false
	}
	next, o.pending = o.pending, buf[:0]
	o.inflight = len(next)
	return next, false
}

// wrote records that the kernel accepted n more in-flight bytes.
func (o *outbox) wrote(n int) {
	o.mu.Lock()
	o.inflight -= n
	o.mu.Unlock()
}

// close drops what is queued and refuses further appends.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.pending = nil
	o.waker = task.Waker{}
	o.mu.Unlock()
}

// member is a client as the room knows it.
type member struct {
	nick string // empty until joined; written under room.mu
	out  outbox
}

// room is the set of joined clients, by nick. Joins, renames, leaves and
// broadcasts hold its lock, so every client sees them in one order.
type room struct {
	mu      sync.Mutex
	members map[string]*member // nickKey(nick) -> member
	scratch []byte             // notices are built here, under mu
}

// newRoom returns an empty room.
func newRoom() *room { return &room{members: make(map[string]*member)} }

// join adds m as nick, announces it to the others and tells m who is here.
func (r *room) join(m *member, nick string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := nickKey(nick)
	if _, taken := r.members[key]; taken {
		return errNickTaken
	}
	r.members[key] = m
	m.nick = nick
	r.notifyLocked(m, "* ", nick, noticeJoined, "")
	r.scratch = append(append(append(r.scratch[:0], noticeJoinedAs...), nick...), '\n')
	r.scratch = r.whoLocked(r.scratch)
	m.out.push(r.scratch)
	return nil
}

// rename changes m's nick and announces it.
func (r *room) rename(m *member, nick string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key, old := nickKey(nick), nickKey(m.nick)
	if other, taken := r.members[key]; taken && other != m {
		return errNickTaken
	}
	delete(r.members, old)
	r.members[key] = m
	r.notifyLocked(m, "* ", m.nick, noticeRenamed, nick)
	m.nick = nick
	r.scratch = append(append(append(r.scratch[:0], noticeYouAre...), nick...), '\n')
	m.out.push(r.scratch)
	return nil
}

// leave removes m, if it joined, and announces it with reason appended to
// "* nick left".
func (r *room) leave(m *member, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.nick == "" || r.members[nickKey(m.nick)] != m {
		return
	}
	delete(r.members, nickKey(m.nick))
	r.notifyLocked(m, "* ", m.nick, noticeLeft, reason)
}

// who sends m the sorted list of nicks.
func (r *room) who(m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scratch = r.whoLocked(r.scratch[:0])
	m.out.push(r.scratch)
}

// whoLocked appends the "* online: a b c" line, nicks sorted, to b.
func (r *room) whoLocked(b []byte) []byte {
	nicks := make([]string, 0, len(r.members))
	for _, m := range r.members {
		nicks = append(nicks, m.nick)
	}
	slices.Sort(nicks)
	b = append(b, noticeOnline...)
	for _, n := range nicks {
		b = append(append(b, ' '), n...)
	}
	return append(b, '\n')
}

// notifyLocked sends a+b+c+d+"\n" to every member but from.
func (r *room) notifyLocked(from *member, a, b, c, d string) {
	r.scratch = append(append(append(append(append(r.scratch[:0], a...), b...), c...), d...), '\n')
	r.sendLocked(from, r.scratch)
}

// broadcast sends line (complete, with its newline) to every member but
// from.
func (r *room) broadcast(from *member, line []byte) {
	r.mu.Lock()
	r.sendLocked(from, line)
	r.mu.Unlock()
}

// sendLocked queues line for every member but from; r.mu is held.
func (r *room) sendLocked(from *member, line []byte) {
	for _, m := range r.members {
		if m != from {
			m.out.push(line) // a full outbox marks its owner for disconnection
		}
	}
}

// session is one client's protocol state: asking for a nick, then
// forwarding lines and running commands. Its output goes to its member's
// outbox; it never touches a socket.
type session struct {
	room  *room
	me    *member
	lines lineSplitter
	msg   []byte // "<nick> text\n" is built here
	state sessionState
}

// sessionState is where a session is in its life.
type sessionState uint8

const (
	awaitingNick sessionState = iota // prompted, no nick yet
	joined                           // in the room
	gone                             // quit or disconnected: input is ignored
)

// newSession prompts for a nick. The member is the session's own.
func newSession(r *room) *session {
	s := &session{room: r, me: &member{}}
	s.me.out.pushString(msgPrompt)
	return s
}

// feed handles the bytes a client sent. It stops at /quit; after that, or
// after end, input is ignored.
func (s *session) feed(p []byte) {
	if s.state == gone {
		return
	}
	s.lines.feed(p, s.handle)
}

// handle acts on one line; it reports whether to go on reading.
func (s *session) handle(l []byte, tooLong bool) bool {
	if tooLong {
		s.me.out.pushString(msgTooLong)
		return true
	}
	if s.state == awaitingNick {
		return s.chooseNick(l)
	}
	if len(l) > 0 && l[0] == '/' {
		if len(l) > 1 && l[1] == '/' {
			return s.say(l[1:])
		}
		return s.command(l)
	}
	return s.say(l)
}

// chooseNick takes the first line(s): a nick, or /quit.
func (s *session) chooseNick(l []byte) bool {
	nick := string(bytes.TrimSpace(l))
	if nick == "/quit" {
		s.quit()
		return false
	}
	if !validNick(nick) {
		s.me.out.pushString(msgBadNick)
		s.me.out.pushString(msgAskAgain)
		return true
	}
	if err := s.room.join(s.me, nick); err != nil {
		s.me.out.pushString(msgNickTaken)
		s.me.out.pushString(msgAskAgain)
		return true
	}
	s.state = joined
	return true
}

// say forwards a message line to the others.
func (s *session) say(text []byte) bool {
	if len(text) == 0 {
		return true
	}
	if !validText(text) {
		s.me.out.pushString(msgBadLine)
		return true
	}
	// Only this session renames itself, so its nick can be read without
	// the room's lock.
	s.msg = append(append(append(append(s.msg[:0], '<'), s.me.nick...), "> "...), text...)
	s.msg = append(s.msg, '\n')
	s.room.broadcast(s.me, s.msg)
	return true
}

// command runs a line that starts with '/'.
func (s *session) command(l []byte) bool {
	name, arg, _ := bytes.Cut(l, []byte{' '})
	switch string(name) {
	case "/quit":
		s.quit()
		return false
	case "/who":
		s.room.who(s.me)
	case "/help":
		s.me.out.pushString(msgHelp)
	case "/nick":
		nick := string(bytes.TrimSpace(arg))
		switch {
		case nick == "":
			s.me.out.pushString(msgNickUsage)
		case !validNick(nick):
			s.me.out.pushString(msgBadNick)
		case s.room.rename(s.me, nick) != nil:
			s.me.out.pushString(msgNickTaken)
		}
	default:
		s.me.out.pushString(msgUnknownCmd)
	}
	return true
}

// quit is /quit: leave, and say goodbye.
func (s *session) quit() {
	s.end(reasonQuit, true)
	s.me.out.pushString(msgBye)
}

// end leaves the room, announcing reason, and ignores input from then on.
// With flush, what is queued for the client stays to be sent (and a
// goodbye may still be pushed); without, the outbox is closed at once.
func (s *session) end(reason string, flush bool) {
	if s.state == gone {
		return
	}
	s.state = gone
	s.room.leave(s.me, reason)
	if !flush {
		s.me.out.close()
	}
}
