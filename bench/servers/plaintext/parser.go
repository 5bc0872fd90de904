package plaintext

// The HTTP/1.1 request reader that the servers on libraries without an
// HTTP layer (gnet, netpoll, evio, metal) share, as gnet's own HTTP
// example and the TechEmpower entries for these libraries each carry
// one. It reads just enough of RFC 9112 to answer every request with the
// plaintext response, in order, and to refuse what it cannot frame:
//
//   - A head is a request line and header fields up to the empty line.
//     Lines end with CRLF or a bare LF (RFC 9112 section 2.2); empty
//     lines before the request line are skipped.
//   - Request line: METHOD SP TARGET SP HTTP/1.d, single spaces, a token
//     for the method and no controls or spaces in the target. Otherwise
//     400; a major version other than 1: 505.
//   - Header fields: NAME ":" OWS VALUE OWS, a token name with no space
//     before the colon, no controls but tab in the value; a folded line:
//     400. Only three fields matter: Content-Length (digits, repeats must
//     agree; otherwise 400), Transfer-Encoding (501: chunked bodies are
//     not read here) and Connection. Host is not checked.
//   - A head longer than maxHead (8 KiB): 431, as soon as it is.
//   - A Content-Length body is skipped as it arrives, and the request is
//     answered once the last byte of it has been.
//   - Keep-alive by default: "Connection: close" (or HTTP/1.0 without
//     "Connection: keep-alive") closes the connection after the response,
//     and so does every refusal. Input after that is ignored.
//   - Every method and target get the same 200 response, as from
//     nginx's "location /"; HEAD gets it without the body.
//   - Expect: 100-continue is not answered: a client that asks sends its
//     body when it tires of waiting (curl after a second).
//
// Pipelining: serve answers every complete request in its input, in
// order, appending all the responses to one buffer for one write.
// Partial requests: the driver hands serve the bytes it did not consume
// again, at the front of its next input. serve remembers how far it read
// a partial head, so a head arriving a byte at a time is read once, not
// once per byte.

import (
	"bytes"

	"github.com/metalio/metal/internal/httpx"
)

// maxHead bounds a request head; a longer one is answered 431.
const maxHead = 8 << 10

// session is one connection's request reader between calls of serve.
// The zero value is a connection on which nothing has been read.
type session struct {
	// The head being read when the input ended inside it: its complete
	// lines so far and what they said.
	scanned       int  // length of the head's complete lines so far
	started       bool // the request line is among them
	headMethod    bool // the method is HEAD
	http10        bool // HTTP/1.0 (a later minor version counts as 1.1)
	closeConn     bool // Connection: close
	keepAlive     bool // Connection: keep-alive
	lengthSeen    bool
	transferCoded bool // Transfer-Encoding, in any form
	contentLength int64

	// After a head.
	body    int64  // bytes of the last request's body still to skip
	owed    answer // its response, appended once the body is skipped
	closing bool   // no more requests: close once the responses are written
}

// serve reads the requests at the front of in and appends the response to
// each complete one to out, in order, with the responses of r. It returns
// how many bytes of in it consumed, and out. Bytes it did not consume are
// a request not complete yet: the caller keeps them and passes them again,
// with whatever arrives after them, at the front of the next call's in.
//
// Once s.closing is set, the connection must close after out is written;
// serve then consumes all of in and appends nothing more.
func (s *session) serve(r *responses, in, out []byte) (int, []byte) {
	date := httpDate()
	i := 0
	for !s.closing {
		if s.body > 0 {
			n := min(int64(len(in)-i), s.body)
			i += int(n)
			s.body -= n
			if s.body > 0 {
				break
			}
			out = r.append(out, s.owed, date)
			s.closing = s.owed.closes()
			continue
		}
		if i == len(in) {
			break
		}
		n, a := s.readHead(in[i:])
		if a == none {
			break // the rest of the head is still to come
		}
		i += n
		if s.body > 0 {
			s.owed = a
			continue
		}
		out = r.append(out, a, date)
		s.closing = a.closes()
	}
	if s.closing {
		i = len(in)
	}
	return i, out
}

// readHead reads the head at the start of buf, resuming after the lines
// an earlier call read. It returns the head's length and the answer to
// the request, and sets s.body to the length of its body; or 0 and none
// while the head is not complete; or 0 and the refusal.
func (s *session) readHead(buf []byte) (int, answer) {
	i := s.scanned
	limit := min(len(buf), maxHead)
	for {
		if i >= limit {
			return s.incomplete(buf, i)
		}
		j := bytes.IndexByte(buf[i:limit], '\n')
		if j < 0 {
			return s.incomplete(buf, i)
		}
		line := buf[i : i+j]
		i += j + 1
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		var a answer
		switch {
		case !s.started && len(line) == 0:
			// Empty lines before the request line are skipped.
		case !s.started:
			a = s.requestLine(line)
			s.started = true
		case len(line) == 0:
			a = s.finish()
			*s = session{body: s.body}
			return i, a
		default:
			a = s.field(line)
		}
		if a != none {
			*s = session{}
			return 0, a
		}
	}
}

// incomplete notes how far a head not yet complete has been read, or
// refuses it once it is too long to be a head.
func (s *session) incomplete(buf []byte, scanned int) (int, answer) {
	if len(buf) >= maxHead {
		*s = session{}
		return 0, headTooLarge
	}
	s.scanned = scanned
	return 0, none
}

// requestLine reads "METHOD SP TARGET SP HTTP/1.d"; it answers none when
// the line is well formed.
func (s *session) requestLine(line []byte) answer {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !httpx.IsToken(line[:sp]) {
		return badRequest
	}
	method, rest := line[:sp], line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return badRequest
	}
	target, version := rest[:sp], rest[sp+1:]
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return badRequest
		}
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || !httpx.IsDigit(version[5]) ||
		version[6] != '.' || !httpx.IsDigit(version[7]) {
		return badRequest
	}
	if version[5] != '1' {
		return versionNotSupported
	}
	s.http10 = version[7] == '0'
	s.headMethod = string(method) == "HEAD"
	return none
}

// field reads a header field line and notes what it says about the
// framing and the connection; it answers none when the line is well
// formed.
func (s *session) field(line []byte) answer {
	if line[0] == ' ' || line[0] == '\t' {
		return badRequest // obs-fold
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !httpx.IsToken(line[:colon]) {
		return badRequest
	}
	name, value := line[:colon], httpx.TrimOWS(line[colon+1:])
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return badRequest
		}
	}
	// The three names that matter have different lengths.
	switch len(name) {
	case len("connection"):
		if httpx.EqualFold(name, "connection") {
			for rest := value; len(rest) > 0; {
				var opt []byte
				opt, rest = httpx.NextListElem(rest)
				s.closeConn = s.closeConn || httpx.EqualFold(opt, "close")
				s.keepAlive = s.keepAlive || httpx.EqualFold(opt, "keep-alive")
			}
		}
	case len("content-length"):
		if httpx.EqualFold(name, "content-length") {
			n, ok := parseContentLength(value)
			if !ok || (s.lengthSeen && n != s.contentLength) {
				return badRequest
			}
			s.lengthSeen, s.contentLength = true, n
		}
	case len("transfer-encoding"):
		if httpx.EqualFold(name, "transfer-encoding") {
			s.transferCoded = true
		}
	}
	return none
}

// finish answers the request whose head has just ended and sets s.body.
func (s *session) finish() answer {
	if s.transferCoded {
		return notImplemented
	}
	s.body = s.contentLength
	a := okKeepAlive
	switch {
	case s.closeConn || (s.http10 && !s.keepAlive):
		a = okClose
	case s.http10:
		a = okKeepAlive10
	}
	if s.headMethod {
		a += headKeepAlive - okKeepAlive
	}
	return a
}

// parseContentLength parses a Content-Length value: 1 to 18 digits, which
// cannot overflow an int64.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !httpx.IsDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
