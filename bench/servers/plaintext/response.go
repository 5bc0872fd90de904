package plaintext

// The responses of the servers that use the shared request reader, built
// once per server from templates: a response is its template's prefix,
// the current date and its suffix, three appends and no allocation. The
// Date header's value is formatted at most once a second and shared by
// every server through an atomic pointer.

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// The plaintext route's response body and content type.
const (
	helloBody   = "Hello, World!"
	contentType = "text/plain"
)

// answer is the response a request gets: a 200 in one of its forms, or a
// refusal, after which the connection closes.
type answer uint8

const (
	none answer = iota // no answer yet: the head is not complete

	// 200, to GET and every other method but HEAD.
	okKeepAlive   // the connection stays open (HTTP/1.1's default)
	okClose       // with Connection: close
	okKeepAlive10 // with Connection: keep-alive, to an HTTP/1.0 client that asked

	// The same three to HEAD: no body.
	headKeepAlive
	headClose
	headKeepAlive10

	// Refusals.
	badRequest          // 400
	headTooLarge        // 431
	notImplemented      // 501: a Transfer-Encoding
	versionNotSupported // 505

	numAnswers
)

// closes reports whether the connection closes after the answer.
func (a answer) closes() bool {
	return a == okClose || a == headClose || a >= badRequest
}

// status returns the answer's status code.
func (a answer) status() int {
	switch a {
	case badRequest:
		return http.StatusBadRequest
	case headTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge
	case notImplemented:
		return http.StatusNotImplemented
	case versionNotSupported:
		return http.StatusHTTPVersionNotSupported
	}
	return http.StatusOK
}

// template is a response around its Date header's value.
type template struct{ prefix, suffix string }

// responses are the responses of one server, which names itself in the
// Server header.
type responses struct{ templates [numAnswers]template }

// newResponses builds the responses of the server called server.
func newResponses(server string) *responses {
	r := new(responses)
	for a := okKeepAlive; a < numAnswers; a++ {
		code := a.status()
		body, conn := helloBody, ""
		if code != http.StatusOK {
			body = http.StatusText(code) + "\n"
		}
		switch {
		case a.closes():
			conn = "Connection: close\r\n"
		case a == okKeepAlive10 || a == headKeepAlive10:
			conn = "Connection: keep-alive\r\n"
		}
		headers := "\r\nContent-Type: " + contentType +
			"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" + conn + "\r\n"
		if a >= headKeepAlive && a <= headKeepAlive10 {
			body = "" // Content-Length is still the GET response's
		}
		r.templates[a] = template{
			prefix: "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nServer: " + server + "\r\nDate: ",
			suffix: headers + body,
		}
	}
	return r
}

// append appends the response a, dated date, to out.
func (r *responses) append(out []byte, a answer, date *dateStamp) []byte {
	t := &r.templates[a]
	out = append(out, t.prefix...)
	out = append(out, date.text[:]...)
	return append(out, t.suffix...)
}

// dateStamp is the Date header's value during one second.
type dateStamp struct {
	unix int64
	text [len(http.TimeFormat)]byte
}

// currentDate is the latest dateStamp.
var currentDate atomic.Pointer[dateStamp]

// httpDate returns the current dateStamp, formatting a new one when the
// second has changed since the last (an allocation once a second at most).
// Callers must not modify it.
func httpDate() *dateStamp {
	now := time.Now()
	sec := now.Unix()
	if d := currentDate.Load(); d != nil && d.unix == sec {
		return d
	}
	d := &dateStamp{unix: sec}
	now.UTC().AppendFormat(d.text[:0], http.TimeFormat)
	currentDate.Store(d)
	return d
}
