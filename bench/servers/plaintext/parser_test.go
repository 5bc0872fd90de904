package plaintext

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

const (
	getReq  = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
	wrkReq  = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
	headReq = "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"
)

// reply is what a test expects of one response.
type reply struct {
	status int
	head   bool   // the request was HEAD: no body
	conn   string // the Connection header's value, if any
}

var (
	ok200    = reply{status: 200}
	okHead   = reply{status: 200, head: true}
	okClosed = reply{status: 200, conn: "close"}
)

var parserTests = []struct {
	name    string
	in      string
	want    []reply
	closing bool // the connection closes after the replies
	// pending is whether the input ends inside a request.
	pending bool
}{
	{name: "get", in: getReq, want: []reply{ok200}},
	{name: "wrk", in: wrkReq, want: []reply{ok200}},
	{name: "pipelined 16", in: strings.Repeat(getReq, 16), want: repeat(ok200, 16)},
	{name: "bare LF", in: "GET / HTTP/1.1\nHost: x\n\n", want: []reply{ok200}},
	{name: "empty lines before", in: "\r\n\r\n" + getReq, want: []reply{ok200}},
	{name: "no headers", in: "GET / HTTP/1.1\r\n\r\n", want: []reply{ok200}},
	{name: "any target and method", in: "DELETE /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n", want: []reply{ok200}},
	{name: "head", in: headReq + getReq, want: []reply{okHead, ok200}},
	{
		name: "body",
		in:   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world" + getReq,
		want: []reply{ok200, ok200},
	},
	{
		name: "large body",
		in:   "POST / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 20000) + getReq,
		want: []reply{ok200, ok200},
	},
	{
		name: "repeated content-length",
		in:   "POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nhi",
		want: []reply{ok200},
	},
	{name: "body pending", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", pending: true},
	{name: "head pending", in: "GET / HTTP/1.1\r\nHost: x\r\n", pending: true},
	{name: "second pending", in: getReq + "GET / HT", want: []reply{ok200}, pending: true},
	{
		name: "connection close", in: "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + getReq,
		want: []reply{okClosed}, closing: true,
	},
	{
		name: "connection list", in: "GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n",
		want: []reply{okClosed}, closing: true,
	},
	{name: "http/1.0", in: "GET / HTTP/1.0\r\n\r\n" + getReq, want: []reply{okClosed}, closing: true},
	{
		name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + getReq,
		want: []reply{{status: 200, conn: "keep-alive"}, ok200},
	},
	{name: "http/1.1 head close", in: "HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n", want: []reply{{status: 200, head: true, conn: "close"}}, closing: true},
	{name: "http/1.9", in: "GET / HTTP/1.9\r\n\r\n", want: []reply{ok200}},
	{name: "garbage", in: "this is not http\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "binary", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "garbage after a request", in: getReq + "GET /\r\n\r\n" + getReq, want: []reply{ok200, {status: 400, conn: "close"}}, closing: true},
	{name: "two spaces", in: "GET  / HTTP/1.1\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "lower-case version", in: "GET / http/1.1\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "control in target", in: "GET /\x01 HTTP/1.1\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "no colon", in: "GET / HTTP/1.1\r\nHost x\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "control in value", in: "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "bad content-length", in: "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "negative content-length", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "huge content-length", in: "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "conflicting content-length", in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", want: []reply{{status: 400, conn: "close"}}, closing: true},
	{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: []reply{{status: 501, conn: "close"}}, closing: true},
	{name: "http/2.0", in: "GET / HTTP/2.0\r\n\r\n", want: []reply{{status: 505, conn: "close"}}, closing: true},
	{name: "head at the limit", in: headOfLength(maxHead), want: []reply{ok200}},
	{name: "head too large", in: headOfLength(maxHead + 1), want: []reply{{status: 431, conn: "close"}}, closing: true},
	{name: "line too long", in: "GET /" + strings.Repeat("a", maxHead), want: []reply{{status: 431, conn: "close"}}, closing: true},
}

func repeat(r reply, n int) []reply {
	rs := make([]reply, n)
	for i := range rs {
		rs[i] = r
	}
	return rs
}

// headOfLength returns a GET head exactly n bytes long.
func headOfLength(n int) string {
	const start, end = "GET / HTTP/1.1\r\nX: ", "\r\n\r\n"
	return start + strings.Repeat("v", n-len(start)-len(end)) + end
}

// feed plays a connection's driver: it hands serve each chunk after what
// it left unconsumed of the ones before, and returns every response and
// what is left.
func feed(t *testing.T, chunks ...string) (out []byte, s *session, left []byte) {
	t.Helper()
	r := newResponses("test")
	s = new(session)
	for _, c := range chunks {
		left = append(left, c...)
		var n int
		n, out = s.serve(r, left, out)
		if n < 0 || n > len(left) {
			t.Fatalf("serve consumed %d of %d bytes", n, len(left))
		}
		left = left[n:]
	}
	return out, s, left
}

// checkReplies reads the responses in out and compares them with want.
func checkReplies(t *testing.T, out []byte, want []reply) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	for i, w := range want {
		method := http.MethodGet
		if w.head {
			method = http.MethodHead
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v in %q", i, err, out)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d: body: %v", i, err)
		}
		if resp.StatusCode != w.status {
			t.Fatalf("response %d: status %d, want %d", i, resp.StatusCode, w.status)
		}
		// ReadResponse turns "Connection: close" into Close.
		if resp.Close != (w.conn == "close") {
			t.Errorf("response %d: Close = %v, want Connection %q", i, resp.Close, w.conn)
		}
		if got := resp.Header.Get("Connection"); w.conn != "close" && got != w.conn {
			t.Errorf("response %d: Connection %q, want %q", i, got, w.conn)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/plain" {
			t.Errorf("response %d: Content-Type %q", i, got)
		}
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("response %d: Date: %v", i, err)
		}
		if got := resp.Header.Get("Server"); got != "test" {
			t.Errorf("response %d: Server %q", i, got)
		}
		wantBody := helloBody
		if w.status != 200 {
			wantBody = http.StatusText(w.status) + "\n"
		}
		if w.head {
			if len(body) != 0 || resp.ContentLength != int64(len(helloBody)) {
				t.Errorf("response %d to HEAD: body %q, Content-Length %d", i, body, resp.ContentLength)
			}
		} else if string(body) != wantBody {
			t.Errorf("response %d: body %q, want %q", i, body, wantBody)
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Fatalf("%d bytes after the %d responses expected: %q", len(rest), len(want), rest)
	}
}

// checkState compares a session's state after its input with the test's.
func checkState(t *testing.T, s *session, left []byte, closing, pending bool) {
	t.Helper()
	if s.closing != closing {
		t.Errorf("closing = %v, want %v", s.closing, closing)
	}
	if got := len(left) > 0 || s.body > 0; got != pending {
		t.Errorf("pending = %v (%d bytes left, %d of a body), want %v", got, len(left), s.body, pending)
	}
}

func TestSessionWhole(t *testing.T) {
	for _, tt := range parserTests {
		t.Run(tt.name, func(t *testing.T) {
			out, s, left := feed(t, tt.in)
			checkReplies(t, out, tt.want)
			checkState(t, s, left, tt.closing, tt.pending)
		})
	}
}

// TestSessionSplitEverywhere cuts each input in two at every byte: the
// responses must not depend on how the bytes arrive.
func TestSessionSplitEverywhere(t *testing.T) {
	for _, tt := range parserTests {
		if len(tt.in) > 1000 {
			continue // TestSessionByteAtATime covers them
		}
		t.Run(tt.name, func(t *testing.T) {
			for i := range len(tt.in) + 1 {
				out, s, left := feed(t, tt.in[:i], tt.in[i:])
				t.Run(fmt.Sprint("at ", i), func(t *testing.T) {
					checkReplies(t, out, tt.want)
					checkState(t, s, left, tt.closing, tt.pending)
				})
			}
		})
	}
}

func TestSessionByteAtATime(t *testing.T) {
	for _, tt := range parserTests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := make([]string, len(tt.in))
			for i := range chunks {
				chunks[i] = tt.in[i : i+1]
			}
			out, s, left := feed(t, chunks...)
			checkReplies(t, out, tt.want)
			checkState(t, s, left, tt.closing, tt.pending)
		})
	}
}

// TestSessionResumes checks that a head arriving in pieces is read once:
// each call starts after the lines the calls before it read.
func TestSessionResumes(t *testing.T) {
	s := new(session)
	r := newResponses("test")
	head := "GET / HTTP/1.1\r\nHost: x\r\nX: y\r\n"
	n, out := s.serve(r, []byte(head), nil)
	if n != 0 || len(out) != 0 {
		t.Fatalf("serve of a partial head: consumed %d, wrote %q", n, out)
	}
	if s.scanned != len(head) {
		t.Fatalf("scanned = %d, want %d: the complete lines", s.scanned, len(head))
	}
	// Were the reader to start again from the front, the request line
	// below would be read as a header field and refused.
	in := []byte(head + "\r\n")
	copy(in, "!!!!!!!!!!!!!!\r\n")
	n, out = s.serve(r, in, nil)
	if n != len(in) {
		t.Fatalf("consumed %d of %d", n, len(in))
	}
	checkReplies(t, out, []reply{ok200})
}

// TestServeAllocs checks the shared request path allocates nothing: 16
// pipelined requests read and answered into a buffer that has the room,
// and a request read in two pieces.
func TestServeAllocs(t *testing.T) {
	r := newResponses("test")
	in := []byte(strings.Repeat(wrkReq, 16))
	out := make([]byte, 0, 16<<10)
	var s session
	allocs := testing.AllocsPerRun(1000, func() {
		if n, o := s.serve(r, in, out[:0]); n != len(in) || len(o) == 0 {
			t.Fatalf("serve consumed %d of %d bytes", n, len(in))
		}
		if n, _ := s.serve(r, in[:len(wrkReq)-3], out[:0]); n != 0 {
			t.Fatalf("serve consumed %d bytes of a partial request", n)
		}
		if n, o := s.serve(r, in[:len(wrkReq)], out[:0]); n != len(wrkReq) || len(o) == 0 {
			t.Fatalf("serve consumed %d of %d bytes", n, len(wrkReq))
		}
	})
	if allocs != 0 {
		t.Fatalf("serve: %v allocations, want 0", allocs)
	}
}

// BenchmarkServe measures the shared request path: 16 pipelined requests
// such as wrk sends, read and answered.
func BenchmarkServe(b *testing.B) {
	r := newResponses("bench")
	in := []byte(strings.Repeat(wrkReq, 16))
	out := make([]byte, 0, 16<<10)
	var s session
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		_, out = s.serve(r, in, out[:0])
	}
}

// BenchmarkStdReadRequest is the Go-native alternative to BenchmarkServe:
// the same 16 requests read with net/http's ReadRequest and answered with
// a Response written to a buffer.
func BenchmarkStdReadRequest(b *testing.B) {
	in := []byte(strings.Repeat(wrkReq, 16))
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	var out bytes.Buffer
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		out.Reset()
		for range 16 {
			req, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			resp := http.Response{
				StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: req,
				Header:        http.Header{"Content-Type": textPlain, "Date": {string(httpDate().text[:])}},
				ContentLength: int64(len(helloBody)),
				Body:          io.NopCloser(strings.NewReader(helloBody)),
			}
			if err := resp.Write(&out); err != nil {
				b.Fatal(err)
			}
		}
	}
}
