package main

// The HTTP/1.1 request parser: the head (request line and header fields)
// and the framing of a request body, which this server reads and
// discards. No sockets here: exchange.go feeds it from a buffer, and the
// tests and FuzzHTTPRequest drive it directly.
//
// What it accepts (RFC 9112), and what it answers otherwise:
//
//   - Lines end with CRLF; a bare LF is accepted too (RFC 9112 section 2.2
//     allows it). Empty lines before the request line are skipped.
//   - Request line: METHOD SP TARGET SP HTTP/1.x, single spaces. The
//     target is origin-form ("/path?query"), absolute-form
//     ("http://host/path"), "*", or, for CONNECT, authority-form.
//     Anything else: 400. A major version other than 1: 505.
//   - Header fields: NAME ":" OWS VALUE OWS. A name must be a token with
//     no space before the colon; a value must not hold control characters
//     but tab; a line folded onto the next (obs-fold): 400. HTTP/1.1
//     requires exactly one Host field: 400 otherwise.
//   - The head (request line, fields, empty line) is at most maxHead
//     (8 KiB) long: 431 otherwise, as soon as the bound is passed.
//   - Content-Length: digits only; repeats must agree: 400 otherwise.
//   - Transfer-Encoding: chunked bodies are supported (read and
//     discarded, chunk extensions and trailer fields included). chunked
//     must be the last coding and appear once, and may follow gzip,
//     deflate or compress: 400 if it is not last, 501 for a coding not
//     known. With Content-Length too, or in an HTTP/1.0 request: 400
//     (RFC 9112 section 6.1: the framing is suspect; refusing it closes
//     the door on request smuggling).
//   - Connection: "close" ends the connection after the response;
//     HTTP/1.0 keeps it only with "keep-alive".
//   - Expect: 100-continue gets an interim 100 response before a body
//     that has not arrived yet.
//
// Every error closes the connection after its response: after a malformed
// head nothing that follows can be trusted to start a request.

import (
	"bytes"

	"github.com/metalio/metal/internal/httpx"
)

const (
	// maxHead bounds a request's head; larger heads get 431.
	maxHead = 8 << 10
	// maxChunkLine bounds a chunk-size line, extensions included.
	maxChunkLine = 4096
	// maxTrailer bounds a chunked body's trailer section.
	maxTrailer = maxHead
	// maxContentLength bounds a Content-Length (18 digits cannot overflow
	// an int64).
	maxContentLength = 1<<62 - 1
)

// statusError is a request the parser refuses, with the status to answer
// it with. The parser returns the variables below, so refusing allocates
// nothing.
type statusError struct {
	code   int
	reason string // the status line's reason phrase, also the body
}

// Error returns the reason phrase.
func (e *statusError) Error() string { return e.reason }

// The ways a request can be refused.
var (
	errBadRequest     = &statusError{400, "Bad Request"}
	errHeadTooLarge   = &statusError{431, "Request Header Fields Too Large"}
	errNotImplemented = &statusError{501, "Not Implemented"}
	errVersion        = &statusError{505, "HTTP Version Not Supported"}
)

// bodyKind is how a request's body is framed.
type bodyKind uint8

const (
	noBody      bodyKind = iota
	lengthBody           // Content-Length bytes
	chunkedBody          // Transfer-Encoding: chunked
)

// request is a parsed request head. method and target point into the
// buffer the head was parsed from: they are valid until it changes.
type request struct {
	method         []byte
	target         []byte
	minor          uint8 // HTTP/1.minor: 0 or 1 (a later minor is read as 1)
	keepAlive      bool  // the connection stays open after the response
	body           bodyKind
	contentLength  int64
	expectContinue bool
}

// parseHead parses the request head at the start of buf into req. It
// returns the head's length; 0 and a nil error when the head is not
// complete yet; or a *statusError.
func parseHead(buf []byte, req *request) (int, error) {
	var h headParser
	return h.parse(buf, req)
}

// headParser parses a request head that arrives in pieces without
// reading any line twice: it keeps what the complete lines so far said,
// and resumes after them when more bytes come. (Parsing from the start on
// every read would let a client sending a byte at a time cost the server
// time quadratic in the head's size.) The zero value is ready.
type headParser struct {
	off     int  // the head's complete lines so far: where parsing resumes
	started bool // the request line has been parsed

	method, target [2]int // offsets of the request line's parts in the buffer
	minor          uint8
	hosts, lengths int
	contentLength  int64
	closeConn      bool
	keepAlive      bool
	teSeen         bool
	chunked        bool
	teErr          error
	expectContinue bool
}

// parse parses the head at the start of buf, which holds what was passed
// before and maybe more. It returns the head's length and fills req; 0
// and a nil error when the head is not complete yet, keeping its place;
// or a *statusError. After a complete head or an error the parser is
// ready for the next head.
func (h *headParser) parse(buf []byte, req *request) (int, error) {
	i := h.off
	for {
		line, next, ok := nextLine(buf, i)
		if !ok {
			h.off = i
			return incomplete(buf)
		}
		start := i
		i = next
		switch {
		case !h.started && len(line) == 0:
			// Empty lines before the request line are skipped (RFC 9112
			// section 2.2).
		case !h.started:
			if err := h.requestLine(line, start); err != nil {
				*h = headParser{}
				return 0, err
			}
			h.started = true
		case len(line) == 0:
			n, err := i, h.finish(buf, req)
			*h = headParser{}
			if err != nil {
				return 0, err
			}
			return n, nil
		default:
			if err := h.field(line); err != nil {
				*h = headParser{}
				return 0, err
			}
		}
	}
}

// requestLine parses "METHOD SP TARGET SP HTTP/d.d", which starts at
// offset start of the buffer.
func (h *headParser) requestLine(line []byte, start int) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errBadRequest
	}
	method := line[:sp]
	if !httpx.IsToken(method) {
		return errBadRequest
	}
	rest := line[sp+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return errBadRequest
	}
	target, version := rest[:sp2], rest[sp2+1:]
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return errBadRequest
		}
	}
	if !validTargetForm(method, target) {
		return errBadRequest
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || !httpx.IsDigit(version[5]) ||
		version[6] != '.' || !httpx.IsDigit(version[7]) {
		return errBadRequest
	}
	if version[5] != '1' {
		return errVersion
	}
	h.minor = min(version[7]-'0', 1)
	h.method = [2]int{start, start + sp}
	h.target = [2]int{start + sp + 1, start + sp + 1 + sp2}
	return nil
}

// field parses a header field line and notes what it says about the
// request's framing and connection.
func (h *headParser) field(line []byte) error {
	name, value, err := parseField(line)
	if err != nil {
		return err
	}
	switch {
	case httpx.EqualFold(name, "host"):
		h.hosts++
	case httpx.EqualFold(name, "content-length"):
		n, ok := parseContentLength(value)
		if !ok || (h.lengths > 0 && n != h.contentLength) {
			return errBadRequest
		}
		h.lengths++
		h.contentLength = n
	case httpx.EqualFold(name, "transfer-encoding"):
		h.teSeen = true
		for rest := value; len(rest) > 0; {
			var coding []byte
			coding, rest = httpx.NextListElem(rest)
			switch {
			case len(coding) == 0:
				// Empty list elements are allowed and mean nothing.
			case h.chunked:
				h.teErr = errBadRequest // something after chunked
			case httpx.EqualFold(coding, "chunked"):
				h.chunked = true
			case httpx.EqualFold(coding, "gzip"), httpx.EqualFold(coding, "x-gzip"),
				httpx.EqualFold(coding, "deflate"), httpx.EqualFold(coding, "compress"),
				httpx.EqualFold(coding, "x-compress"):
			default:
				if h.teErr == nil {
					h.teErr = errNotImplemented
				}
			}
		}
	case httpx.EqualFold(name, "connection"):
		for rest := value; len(rest) > 0; {
			var opt []byte
			opt, rest = httpx.NextListElem(rest)
			if httpx.EqualFold(opt, "close") {
				h.closeConn = true
			} else if httpx.EqualFold(opt, "keep-alive") {
				h.keepAlive = true
			}
		}
	case httpx.EqualFold(name, "expect"):
		h.expectContinue = httpx.EqualFold(value, "100-continue")
	}
	return nil
}

// finish applies the rules that need the whole head and fills req.
func (h *headParser) finish(buf []byte, req *request) error {
	switch {
	case h.minor >= 1 && h.hosts != 1:
		return errBadRequest
	case h.teSeen && (h.lengths > 0 || h.minor == 0):
		return errBadRequest
	case h.teErr != nil:
		return h.teErr
	case h.teSeen && !h.chunked:
		return errBadRequest // the body's end cannot be known
	}
	*req = request{
		method:         buf[h.method[0]:h.method[1]],
		target:         buf[h.target[0]:h.target[1]],
		minor:          h.minor,
		contentLength:  h.contentLength,
		expectContinue: h.expectContinue,
	}
	switch {
	case h.teSeen:
		req.body = chunkedBody
	case h.contentLength > 0:
		req.body = lengthBody
	}
	if h.minor >= 1 {
		req.keepAlive = !h.closeConn
	} else {
		req.keepAlive = h.keepAlive && !h.closeConn
	}
	return nil
}

// incomplete is parseHead's answer when buf ends inside the head: wait for
// more, unless the head is already too long.
func incomplete(buf []byte) (int, error) {
	if len(buf) >= maxHead {
		return 0, errHeadTooLarge
	}
	return 0, nil
}

// nextLine returns the line starting at buf[i], without its LF or a CR
// before it, and the index after it. ok is false when the line has not
// ended yet. A line that ends past maxHead is reported as not ended, so
// the caller's incomplete check refuses the head.
func nextLine(buf []byte, i int) (line []byte, next int, ok bool) {
	end := min(len(buf), maxHead)
	if i >= end {
		return nil, i, false
	}
	j := bytes.IndexByte(buf[i:end], '\n')
	if j < 0 {
		return nil, i, false
	}
	line = buf[i : i+j]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, i + j + 1, true
}

// validTargetForm reports whether target is one of the request-target
// forms RFC 9112 section 3.2 allows.
func validTargetForm(method, target []byte) bool {
	switch {
	case target[0] == '/': // origin-form
		return true
	case len(target) == 1 && target[0] == '*': // asterisk-form
		return true
	case string(method) == "CONNECT": // authority-form
		return true
	}
	_, ok := absolutePath(target)
	return ok
}

// absolutePath returns the path of an absolute-form target
// ("scheme://authority/path?query" gives "/path?query"; no path gives
// "/"), and false when target is not absolute-form.
func absolutePath(target []byte) ([]byte, bool) {
	i := bytes.Index(target, []byte("://"))
	if i <= 0 || !isAlpha(target[0]) {
		return nil, false
	}
	for _, c := range target[1:i] { // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
		if !isAlpha(c) && !httpx.IsDigit(c) && c != '+' && c != '-' && c != '.' {
			return nil, false
		}
	}
	rest := target[i+3:]
	if j := bytes.IndexAny(rest, "/?"); j >= 0 && rest[j] == '/' {
		return rest[j:], true
	}
	return rootPath, true // no path: the root (a query alone does not matter here)
}

// rootPath is the path of a target that names none.
var rootPath = []byte("/")

// parseField splits a header line into its name and its value without
// surrounding whitespace.
func parseField(line []byte) (name, value []byte, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, errBadRequest // obs-fold, or space before the first name
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !httpx.IsToken(line[:colon]) {
		return nil, nil, errBadRequest
	}
	value = httpx.TrimOWS(line[colon+1:])
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, errBadRequest
		}
	}
	return line[:colon], value, nil
}

// parseContentLength parses a Content-Length value: 1 to 18 digits.
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
	return n, n <= maxContentLength
}

// isAlpha reports whether c is an ASCII letter.
func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// bodyReader follows a request body's framing through the bytes that
// arrive, discarding the content. It is a state machine fed a buffer at a
// time, so a body of any size costs nothing but the bytes it moves.
type bodyReader struct {
	state     bodyState
	remaining int64 // content bytes left: of the body (lengthBody) or of the current chunk
	lineLen   int   // bytes of the current chunk-size or trailer line so far
	trailer   int   // bytes of the trailer section so far
	digits    int   // hex digits of the current chunk size
}

// bodyState is where a bodyReader is in a body.
type bodyState uint8

const (
	bodyDone     bodyState = iota // no body, or all of it read
	bodyContent                   // in a Content-Length body
	chunkSize                     // in a chunk's hex size
	chunkSizeWS                   // after the size, in whitespace before ';' or the line end
	chunkExt                      // in chunk extensions, up to the line end
	chunkSizeLF                   // after the size line's CR, before its LF
	chunkData                     // in a chunk's content
	chunkDataCR                   // after a chunk's content, before its CRLF
	chunkDataLF                   // after that CR, before the LF
	trailerStart                  // at the start of a trailer line (an empty one ends the body)
	trailerLine                   // in a trailer line
	trailerEndLF                  // after the CR of the empty line that ends the body
)

// start prepares to read the body of req.
func (b *bodyReader) start(req *request) {
	*b = bodyReader{}
	switch req.body {
	case lengthBody:
		b.state, b.remaining = bodyContent, req.contentLength
	case chunkedBody:
		b.state = chunkSize
	}
}

// done reports whether the body has been read to its end.
func (b *bodyReader) done() bool { return b.state == bodyDone }

// consume reads body bytes from the front of p and returns how many were
// body; bytes after the end of the body are left alone.
func (b *bodyReader) consume(p []byte) (int, error) {
	i := 0
	for i < len(p) && b.state != bodyDone {
		switch b.state {
		case bodyContent, chunkData:
			n := int(min(int64(len(p)-i), b.remaining))
			i += n
			b.remaining -= int64(n)
			if b.remaining == 0 {
				if b.state == bodyContent {
					b.state = bodyDone
				} else {
					b.state = chunkDataCR
				}
			}
			continue
		}
		c := p[i]
		i++
		if err := b.step(c); err != nil {
			return i, err
		}
	}
	return i, nil
}

// step advances the chunk framing by one byte.
func (b *bodyReader) step(c byte) error {
	switch b.state {
	case chunkSize, chunkSizeWS, chunkExt:
		b.lineLen++
		if b.lineLen > maxChunkLine {
			return errBadRequest
		}
	case trailerLine, trailerStart:
		b.trailer++
		if b.trailer > maxTrailer {
			return errBadRequest
		}
	}
	switch b.state {
	case chunkSize:
		if v, ok := hexValue(c); ok {
			b.digits++
			if b.digits > 15 { // 15 hex digits cannot overflow an int64
				return errBadRequest
			}
			b.remaining = b.remaining<<4 | int64(v)
			return nil
		}
		if b.digits == 0 {
			return errBadRequest
		}
		switch c {
		case ' ', '\t':
			b.state = chunkSizeWS
		case ';':
			b.state = chunkExt
		case '\r':
			b.state = chunkSizeLF
		case '\n':
			b.endSizeLine()
		default:
			return errBadRequest
		}
	case chunkSizeWS:
		switch c {
		case ' ', '\t':
		case ';':
			b.state = chunkExt
		case '\r':
			b.state = chunkSizeLF
		case '\n':
			b.endSizeLine()
		default:
			return errBadRequest
		}
	case chunkExt:
		switch {
		case c == '\r':
			b.state = chunkSizeLF
		case c == '\n':
			b.endSizeLine()
		case (c < ' ' && c != '\t') || c == 0x7f:
			return errBadRequest
		}
	case chunkSizeLF:
		if c != '\n' {
			return errBadRequest
		}
		b.endSizeLine()
	case chunkDataCR:
		switch c {
		case '\r':
			b.state = chunkDataLF
		case '\n':
			b.state = chunkSize
		default:
			return errBadRequest
		}
	case chunkDataLF:
		if c != '\n' {
			return errBadRequest
		}
		b.state = chunkSize
	case trailerStart:
		switch {
		case c == '\r':
			b.state = trailerEndLF
		case c == '\n':
			b.state = bodyDone
		case c < ' ' || c == 0x7f:
			return errBadRequest
		default:
			b.state = trailerLine
		}
	case trailerLine:
		switch {
		case c == '\n':
			b.state = trailerStart
		case (c < ' ' && c != '\t' && c != '\r') || c == 0x7f:
			return errBadRequest
		}
	case trailerEndLF:
		if c != '\n' {
			return errBadRequest
		}
		b.state = bodyDone
	}
	return nil
}

// endSizeLine acts on a complete chunk-size line: a chunk's content
// follows, or, after the last (zero-size) chunk, the trailer section.
func (b *bodyReader) endSizeLine() {
	b.lineLen, b.digits = 0, 0
	if b.remaining == 0 {
		b.state = trailerStart
		return
	}
	b.state = chunkData
}

// hexValue returns the value of the hex digit c.
func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c|0x20 && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}
