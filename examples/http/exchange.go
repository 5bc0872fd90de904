package main

// One connection's HTTP exchange, with no sockets: bytes come in through
// space and received, responses accumulate in out. The server task moves
// bytes between these and the socket; tests, the fuzz target and the
// benchmark drive an exchange directly.
//
// Pipelining: received parses every complete request in the buffer and
// appends all their responses to out, so a burst of pipelined requests is
// answered with one write. Nothing more is read until out is written, so
// a client that sends without reading is held back by TCP, and out stays
// bounded by what one buffer of requests produces.

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	// inSize is each connection's input buffer. What stays in it between
	// reads is less than maxHead (a head not complete yet; body bytes are
	// consumed as they come), so a read always has at least
	// inSize-maxHead bytes of room.
	inSize = 2 * maxHead
	// outSize is out's initial capacity: 16 pipelined responses fit.
	outSize = 4 << 10
)

// Responses. Each status has a fixed body, so responses are appended
// from constants without allocating.
const (
	helloBody     = "Hello, World!"
	notFoundBody  = "Not Found\n"
	notAllowBody  = "Method Not Allowed\n"
	serverHeader  = "Server: metal\r\n"
	textPlain     = "Content-Type: text/plain\r\n"
	allowHeader   = "Allow: GET, HEAD\r\n"
	closeHeader   = "Connection: close\r\n"
	keepHeader    = "Connection: keep-alive\r\n"
	continueReply = "HTTP/1.1 100 Continue\r\n\r\n"
)

// route is what a request is answered with, decided from its head, so
// the answer does not need the head once the body has been read.
type route uint8

const (
	routePlaintext  route = iota // GET or HEAD /plaintext
	routeNotFound                // any other path
	routeNotAllowed              // /plaintext with another method
)

// routeOf picks the answer to req.
func routeOf(req *request) route {
	path := req.target
	if path[0] != '/' {
		var ok bool
		if path, ok = absolutePath(path); !ok {
			return routeNotFound // "*" or authority-form
		}
	}
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if string(path) != "/plaintext" {
		return routeNotFound
	}
	switch string(req.method) {
	case "GET", "HEAD":
		return routePlaintext
	}
	return routeNotAllowed
}

// exchange is the protocol state of one connection.
type exchange struct {
	in  []byte // received, not yet parsed; cap(in) == inSize
	out []byte // responses not yet written

	req       request    // the request being read
	body      bodyReader // its body, while inBody
	inBody    bool
	answer    route // the answer to req, sent once its body is read
	headOnly  bool  // req is a HEAD: the answer has no body
	keepAlive bool  // whether req leaves the connection open
	continued bool  // a 100 Continue was sent for req

	// head parses the head at the front of in, across reads.
	head headParser

	// closing is set once the connection must close after out is
	// written: a request without keep-alive, or a refused one. Input is
	// ignored from then on.
	closing bool

	date func() []byte // the Date header's value
}

// newExchange returns an exchange whose responses carry the date from
// date (httpDate in the server).
func newExchange(date func() []byte) *exchange {
	return &exchange{in: make([]byte, 0, inSize), out: make([]byte, 0, outSize), date: date}
}

// space returns the buffer to read into next.
func (x *exchange) space() []byte { return x.in[len(x.in):cap(x.in)] }

// received takes the n bytes just read into space, answers every request
// now complete, and keeps the rest for the next read.
func (x *exchange) received(n int) {
	x.in = x.in[:len(x.in)+n]
	p := x.in
	for len(p) > 0 && !x.closing {
		if x.inBody {
			n, err := x.body.consume(p)
			p = p[n:]
			if err != nil {
				x.refuse(err.(*statusError))
				break
			}
			if !x.body.done() {
				break
			}
			x.inBody = false
			x.respond()
			continue
		}
		n, err := x.head.parse(p, &x.req)
		if err != nil {
			x.refuse(err.(*statusError))
			break
		}
		if n == 0 {
			break // the rest of the head is still to come
		}
		p = p[n:]
		x.answer, x.keepAlive, x.continued = routeOf(&x.req), x.req.keepAlive, false
		x.headOnly = string(x.req.method) == "HEAD"
		if x.req.minor == 0 {
			x.req.expectContinue = false // 100 Continue is HTTP/1.1
		}
		if x.req.body != noBody {
			x.body.start(&x.req)
			x.inBody = true
			continue
		}
		x.respond()
	}
	if x.closing {
		p = nil
	} else if x.inBody && x.req.expectContinue && !x.continued {
		// The client waits for a go-ahead before sending the body.
		x.out = append(x.out, continueReply...)
		x.continued = true
	}
	x.in = x.in[:copy(x.in[:cap(x.in)], p)]
}

// respond appends the answer to the request just read.
func (x *exchange) respond() {
	if !x.keepAlive {
		x.closing = true
	}
	switch x.answer {
	case routePlaintext:
		x.appendResponse("200 OK", helloBody, "")
	case routeNotFound:
		x.appendResponse("404 Not Found", notFoundBody, "")
	case routeNotAllowed:
		x.appendResponse("405 Method Not Allowed", notAllowBody, allowHeader)
	}
}

// refuse answers a request the parser refused, and closes the connection
// after it.
func (x *exchange) refuse(e *statusError) {
	x.closing = true
	x.inBody = false
	x.out = append(x.out, "HTTP/1.1 "...)
	x.out = strconv.AppendInt(x.out, int64(e.code), 10)
	x.out = append(x.out, ' ')
	x.out = append(x.out, e.reason...)
	x.out = append(x.out, "\r\n"...)
	x.appendHeaders(len(e.reason)+1, "")
	x.out = append(append(x.out, e.reason...), '\n')
}

// appendResponse appends a response with status ("200 OK"), a text/plain
// body (left out for HEAD, its Content-Length kept), and extra header
// lines.
func (x *exchange) appendResponse(status, body, extra string) {
	x.out = append(x.out, "HTTP/1.1 "...)
	x.out = append(x.out, status...)
	x.out = append(x.out, "\r\n"...)
	x.appendHeaders(len(body), extra)
	if !x.headOnly {
		x.out = append(x.out, body...)
	}
}

// appendHeaders appends the header fields every response has, extra, and
// the empty line.
func (x *exchange) appendHeaders(contentLength int, extra string) {
	x.out = append(x.out, serverHeader...)
	x.out = append(x.out, "Date: "...)
	x.out = append(x.out, x.date()...)
	x.out = append(x.out, "\r\n"...)
	x.out = append(x.out, textPlain...)
	x.out = append(x.out, "Content-Length: "...)
	x.out = strconv.AppendInt(x.out, int64(contentLength), 10)
	x.out = append(x.out, "\r\n"...)
	x.out = append(x.out, extra...)
	switch {
	case x.closing:
		x.out = append(x.out, closeHeader...)
	case x.req.minor == 0:
		x.out = append(x.out, keepHeader...) // HTTP/1.0 asked to keep it open
	}
	x.out = append(x.out, "\r\n"...)
}

// dateStamp is the Date header's value for one second.
type dateStamp struct {
	unix int64
	text []byte
}

// currentDate holds the latest dateStamp: formatting it once a second
// keeps the time formatting off the per-request path.
var currentDate atomic.Pointer[dateStamp]

// httpDate returns the current time in the HTTP date format (RFC 9110
// IMF-fixdate). Callers must not modify the result.
func httpDate() []byte {
	now := time.Now()
	if d := currentDate.Load(); d != nil && d.unix == now.Unix() {
		return d.text
	}
	d := &dateStamp{unix: now.Unix()}
	d.text = now.UTC().AppendFormat(make([]byte, 0, 29), "Mon, 02 Jan 2006 15:04:05 GMT")
	currentDate.Store(d)
	return d.text
}
