package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixedDate stands in for httpDate, so outputs can be compared.
func fixedDate() []byte { return fixedDateText }

var fixedDateText = []byte("Thu, 01 Jan 2026 00:00:00 GMT")

// serveBytes feeds data to a new exchange in reads of at most chunk bytes
// (each also bounded by the room the exchange offers, as a socket read
// is) and returns everything it answered and whether it wants to close.
func serveBytes(data []byte, chunk int) (out string, closing bool) {
	x := newExchange(fixedDate)
	var all []byte
	for len(data) > 0 && !x.closing {
		sp := x.space()
		n := copy(sp[:min(len(sp), chunk)], data)
		data = data[n:]
		x.received(n)
		all = append(all, x.out...)
		x.out = x.out[:0]
	}
	return string(all), x.closing
}

// response is one parsed response from an exchange's output.
type response struct {
	status  int
	headers http.Header
	body    string
}

// parseResponses reads the responses in out, checking the framing every
// response must have. A response without the body its status carries is
// taken for the answer to a HEAD.
func parseResponses(t testing.TB, out string) []response {
	t.Helper()
	var rs []response
	r := bufio.NewReader(strings.NewReader(out))
	for {
		if _, err := r.Peek(1); err == io.EOF {
			return rs
		}
		line, err := r.ReadString('\n')
		require.NoError(t, err, "status line")
		var code int
		_, err = fmt.Sscanf(line, "HTTP/1.1 %d ", &code)
		require.NoError(t, err, "status line %q", line)
		h := http.Header{}
		for {
			l, err := r.ReadString('\n')
			require.NoError(t, err, "header")
			require.True(t, strings.HasSuffix(l, "\r\n"), "header line %q", l)
			l = strings.TrimSuffix(l, "\r\n")
			if l == "" {
				break
			}
			name, value, ok := strings.Cut(l, ": ")
			require.True(t, ok, "header line %q", l)
			h.Add(name, value)
		}
		resp := response{status: code, headers: h}
		if code == 100 {
			require.Empty(t, h)
			rs = append(rs, resp)
			continue
		}
		require.Equal(t, "metal", h.Get("Server"))
		require.Equal(t, string(fixedDate()), h.Get("Date"))
		require.Equal(t, "text/plain", h.Get("Content-Type"))
		n, err := strconv.Atoi(h.Get("Content-Length"))
		require.NoError(t, err)
		hasBody := true
		if want, ok := map[int]string{200: helloBody, 404: notFoundBody}[code]; ok {
			// These may answer a HEAD.
			peek, _ := r.Peek(n)
			hasBody = string(peek) == want
		}
		if hasBody {
			body := make([]byte, n)
			_, err := io.ReadFull(r, body)
			require.NoError(t, err, "body")
			resp.body = string(body)
		}
		rs = append(rs, resp)
	}
}

// statuses lists the status codes of rs.
func statuses(rs []response) []int {
	var s []int
	for _, r := range rs {
		s = append(s, r.status)
	}
	return s
}

// The request line and the fields that decide framing and keep-alive.
func TestParseHeadReadsTheRequestLineAndTheFieldsThatMatter(t *testing.T) {
	in := "POST /plaintext?x=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nX-Other: a b\tc\r\n\r\nhello"
	var req request
	n, err := parseHead([]byte(in), &req)
	require.NoError(t, err)
	require.Equal(t, len(in)-5, n)
	require.Equal(t, "POST", string(req.method))
	require.Equal(t, "/plaintext?x=1", string(req.target))
	require.EqualValues(t, 1, req.minor)
	require.True(t, req.keepAlive)
	require.Equal(t, lengthBody, req.body)
	require.EqualValues(t, 5, req.contentLength)
	require.True(t, req.expectContinue)
}

// Keep-alive by version and Connection tokens.
func TestParseHeadConnectionRules(t *testing.T) {
	for _, c := range []struct {
		head string
		keep bool
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
		{"GET / HTTP/1.9\r\nHost: a\r\n\r\n", true}, // a later 1.x reads as 1.1
	} {
		var req request
		n, err := parseHead([]byte(c.head), &req)
		require.NoError(t, err, c.head)
		require.Equal(t, len(c.head), n)
		require.Equal(t, c.keep, req.keepAlive, c.head)
	}
}

// A head that arrives a byte at a time parses as it does whole, every
// line parsed once.
func TestHeadParserResumesWhereItStopped(t *testing.T) {
	in := []byte("\r\nPOST /plaintext?q=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n" +
		"Transfer-Encoding: chunked\r\nConnection: close\r\nExpect: 100-continue\r\n\r\nbody")
	var whole request
	n, err := parseHead(in, &whole)
	require.NoError(t, err)
	var h headParser
	var got request
	for i := 1; i <= len(in); i++ {
		m, err := h.parse(in[:i], &got)
		require.NoError(t, err)
		if m > 0 {
			require.Equal(t, n, m)
			require.Equal(t, i, n, "complete as soon as the empty line is in")
			break
		}
		require.Equal(t, bytes.LastIndexByte(in[:i], '\n')+1, h.off, "resumes after the last complete line")
	}
	require.Equal(t, whole, got)
	require.Equal(t, chunkedBody, got.body)
	require.False(t, got.keepAlive)
	require.Equal(t, headParser{}, h, "ready for the next head")

	// An error in a complete line is found as soon as the line is, not
	// when the head ends.
	h = headParser{}
	_, err = h.parse([]byte("GET /\r\nHost"), &got)
	require.Equal(t, errBadRequest, err)
}

// A head cut anywhere is incomplete, not an error.
func TestParseHeadWaitsForTheWholeHeadWhereverItIsCut(t *testing.T) {
	in := []byte("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
	for cut := range len(in) {
		var req request
		n, err := parseHead(in[:cut], &req)
		require.NoError(t, err, "cut at %d", cut)
		require.Zero(t, n, "cut at %d", cut)
	}
	var req request
	n, err := parseHead(in, &req)
	require.NoError(t, err)
	require.Equal(t, len(in), n)
}

// Bare LF line ends and empty lines before the request line are accepted.
func TestParseHeadAcceptsBareLFAndLeadingEmptyLines(t *testing.T) {
	in := "\r\n\nGET /plaintext HTTP/1.1\nHost: a\n\n"
	var req request
	n, err := parseHead([]byte(in), &req)
	require.NoError(t, err)
	require.Equal(t, len(in), n)
	require.Equal(t, "/plaintext", string(req.target))
}

// Malformed heads get the status the parser documents; odd but valid ones
// pass.
func TestParseHeadRefusesMalformedRequests(t *testing.T) {
	for _, c := range []struct {
		head string
		want *statusError
	}{
		{"garbage\r\n\r\n", errBadRequest},
		{"GET\r\n\r\n", errBadRequest},
		{"GET /\r\n\r\n", errBadRequest},
		{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", errBadRequest},
		{"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET / HTTP/1.x\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET / http/1.1\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET / HTTP/11\r\nHost: a\r\n\r\n", errBadRequest},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", errVersion},
		{"GET / HTTP/0.9\r\n\r\n", errVersion},
		{"GET / HTTP/1.1\r\n\r\n", errBadRequest},                         // no Host
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errBadRequest},   // two
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", errBadRequest},             // space before the colon
		{"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", errBadRequest},   // obs-fold
		{"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", errBadRequest},   //
		{"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", errBadRequest},   //
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", errBadRequest}, // NUL in a value
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", errBadRequest},   // bare CR in a value
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errBadRequest},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n", errNotImplemented},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errBadRequest},
	} {
		var req request
		n, err := parseHead([]byte(c.head), &req)
		require.Zero(t, n, "%q", c.head)
		require.Equal(t, c.want, err, "%q", c.head)
	}
	// And the ones that look odd but are fine.
	for _, ok := range []string{
		"GET http://example.com/plaintext HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"GET / HTTP/1.1\r\nhOsT: a\r\nX-Empty:\r\nX-Obs-Text: caf\xe9\r\nX-Tab:\tv\t\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip , chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\nContent-Length: 7\r\n\r\n",
	} {
		var req request
		n, err := parseHead([]byte(ok), &req)
		require.NoError(t, err, "%q", ok)
		require.Equal(t, len(ok), n, "%q", ok)
	}
}

// A head of exactly maxHead passes; one byte more gets 431, even before
// it ends.
func TestHeadLimitIs8KiB(t *testing.T) {
	build := func(total int) string {
		head := "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: "
		pad := total - len(head) - len("\r\n\r\n")
		return head + strings.Repeat("p", pad) + "\r\n\r\n"
	}
	var req request
	at := build(maxHead)
	n, err := parseHead([]byte(at), &req)
	require.NoError(t, err)
	require.Equal(t, maxHead, n)

	over := build(maxHead + 1)
	_, err = parseHead([]byte(over), &req)
	require.Equal(t, errHeadTooLarge, err)
	// Refused as soon as the bound is passed, before the head ends.
	_, err = parseHead([]byte(over[:maxHead]), &req)
	require.Equal(t, errHeadTooLarge, err)
	_, err = parseHead([]byte(over[:maxHead-1]), &req)
	require.NoError(t, err)

	out, closing := serveBytes([]byte(over), len(over))
	require.True(t, closing)
	require.Equal(t, []int{431}, statuses(parseResponses(t, out)))
}

// Chunked bodies with extensions, trailers and bare LFs are skipped, in
// any split, and the next request is answered.
func TestChunkedBodiesAreReadAndDiscarded(t *testing.T) {
	for _, body := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;name=value;other\r\nhello\r\nA \t;ext\r\n0123456789\r\n0\r\n\r\n",
		"3\r\nabc\r\n0\r\nTrailer-One: x\r\nTrailer-Two: y\r\n\r\n",
		"3\nabc\n0\n\n", // bare LFs
		"0\r\n\r\n",
		"fFfF\r\n" + strings.Repeat("x", 0xffff) + "\r\n0\r\n\r\n",
	} {
		in := "POST /plaintext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
			"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
		for _, chunk := range []int{1, 3, 1 << 20} {
			out, closing := serveBytes([]byte(in), chunk)
			require.False(t, closing, "%q", body)
			require.Equal(t, []int{405, 200}, statuses(parseResponses(t, out)), "%q in reads of %d", body, chunk)
		}
	}
}

// Broken chunk framing gets 400 and ends the exchange.
func TestMalformedChunkedBodiesGet400(t *testing.T) {
	for _, body := range []string{
		"x\r\n",                             // not hex
		"\r\n",                              // no size
		"5\r\nhelloX\r\n",                   // no CRLF after the data
		"5\r\nhello\rX",                     // CR not followed by LF
		"5 x\r\n",                           // junk after the size
		"5;ext\x00\r\n",                     // NUL in an extension
		"1000000000000000\r\n",              // 16 hex digits
		"0\r\nTrailer: \x01\r\n\r\n",        // control character in a trailer
		"0\r\n\rX",                          // CR not followed by LF at the end
		"5;" + strings.Repeat("e", 5000),    // size line too long
		"0\r\n" + strings.Repeat("t", 9000), // trailer too long
	} {
		in := "POST /plaintext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
			"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
		out, closing := serveBytes([]byte(in), 1<<20)
		require.True(t, closing, "%q", body)
		require.Equal(t, []int{400}, statuses(parseResponses(t, out)), "%q", body)
	}
}

// A large Content-Length body is skipped across many reads.
func TestContentLengthBodiesAreDiscardedAcrossReads(t *testing.T) {
	body := strings.Repeat("b", 100_000)
	in := "POST /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + body +
		"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, chunk := range []int{7, 4096, 1 << 20} {
		out, closing := serveBytes([]byte(in), chunk)
		require.False(t, closing)
		rs := parseResponses(t, out)
		require.Equal(t, []int{405, 404, 200}, statuses(rs))
		require.Equal(t, "GET, HEAD", rs[0].headers.Get("Allow"))
		require.Equal(t, helloBody, rs[2].body)
	}
}

// Pipelined requests in one read are answered together, in order, and any
// split gives the same bytes.
func TestPipelinedRequestsAreAllAnsweredInOrderAtOnce(t *testing.T) {
	var in strings.Builder
	var want []int
	for i := range 16 {
		if i%3 == 0 {
			fmt.Fprintf(&in, "GET /missing/%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
			want = append(want, 404)
		} else {
			fmt.Fprintf(&in, "GET /plaintext?i=%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
			want = append(want, 200)
		}
	}
	x := newExchange(fixedDate)
	n := copy(x.space(), in.String())
	require.Equal(t, in.Len(), n)
	x.received(n)
	require.Equal(t, want, statuses(parseResponses(t, string(x.out))), "one read, every response in one buffer")
	require.Empty(t, x.in, "nothing left over")

	// The same bytes in any split give the same bytes out.
	whole, _ := serveBytes([]byte(in.String()), 1<<20)
	for _, chunk := range []int{1, 2, 5, 17, 100} {
		split, _ := serveBytes([]byte(in.String()), chunk)
		require.Equal(t, whole, split, "reads of %d", chunk)
	}
}

// Nothing after a closing request is answered; the response says close.
func TestConnectionCloseEndsTheExchange(t *testing.T) {
	in := "GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
	out, closing := serveBytes([]byte(in), 1<<20)
	require.True(t, closing)
	rs := parseResponses(t, out)
	require.Equal(t, []int{200}, statuses(rs), "nothing after Connection: close is answered")
	require.Equal(t, "close", rs[0].headers.Get("Connection"))

	out, closing = serveBytes([]byte("GET /plaintext HTTP/1.0\r\n\r\n"), 1<<20)
	require.True(t, closing)
	require.Equal(t, "close", parseResponses(t, out)[0].headers.Get("Connection"))

	out, closing = serveBytes([]byte("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 1<<20)
	require.False(t, closing)
	require.Equal(t, "keep-alive", parseResponses(t, out)[0].headers.Get("Connection"))
}

// A malformed request after a good one: 200, then 400, then nothing.
func TestMalformedRequestGets400AndNothingAfterIt(t *testing.T) {
	in := "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nBAD REQUEST LINE\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
	out, closing := serveBytes([]byte(in), 1<<20)
	require.True(t, closing)
	rs := parseResponses(t, out)
	require.Equal(t, []int{200, 400}, statuses(rs))
	require.Equal(t, "close", rs[1].headers.Get("Connection"))
	require.Equal(t, "Bad Request\n", rs[1].body)
}

// HEAD gets the headers, Content-Length included, and no body.
func TestHeadGetsHeadersWithoutBody(t *testing.T) {
	out, _ := serveBytes([]byte("HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\nHEAD /other HTTP/1.1\r\nHost: a\r\n\r\n"), 1<<20)
	rs := parseResponses(t, out)
	require.Equal(t, []int{200, 404}, statuses(rs))
	require.Equal(t, "13", rs[0].headers.Get("Content-Length"))
	require.Empty(t, rs[0].body)
	require.Empty(t, rs[1].body)
	require.NotContains(t, out, helloBody)
}

// Paths, queries and absolute-form targets route to 200, 404 or 405.
func TestRoutes(t *testing.T) {
	for target, want := range map[string]int{
		"/plaintext":                    200,
		"/plaintext?query=1":            200,
		"http://example.com/plaintext":  200,
		"HTTP://example.com/plaintext?": 200,
		"/plaintext/":                   404,
		"/PLAINTEXT":                    404,
		"/":                             404,
		"*":                             404,
		"http://example.com":            404,
		"http://example.com?x":          404,
	} {
		out, _ := serveBytes([]byte("GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n"), 1<<20)
		require.Equal(t, []int{want}, statuses(parseResponses(t, out)), target)
	}
	out, _ := serveBytes([]byte("DELETE /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"), 1<<20)
	require.Equal(t, []int{405}, statuses(parseResponses(t, out)))
}

// 100 Continue is sent when the body has not come with the head.
func TestExpectContinueGetsAnInterimResponseBeforeTheBody(t *testing.T) {
	x := newExchange(fixedDate)
	head := "POST /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
	x.received(copy(x.space(), head))
	require.Equal(t, continueReply, string(x.out))
	x.out = x.out[:0]
	x.received(copy(x.space(), "abc"))
	require.Equal(t, []int{405}, statuses(parseResponses(t, string(x.out))))

	// Not when the body came with the head.
	out, _ := serveBytes([]byte(head+"abc"), 1<<20)
	require.Equal(t, []int{405}, statuses(parseResponses(t, out)))
}

// The Date value parses as an HTTP date and is formatted once a second.
func TestHTTPDateIsIMFFixdate(t *testing.T) {
	d := httpDate()
	tm, err := http.ParseTime(string(d))
	require.NoError(t, err)
	require.Len(t, d, 29)
	require.False(t, tm.IsZero())
	for {
		sec := time.Now().Unix()
		a, b := httpDate(), httpDate()
		if time.Now().Unix() == sec {
			require.Same(t, &a[0], &b[0], "formatted once a second")
			break
		}
	}
}

// FuzzHTTPRequest feeds arbitrary bytes to an exchange, whole and in
// several splits: it must never panic, every split must give the same
// answer, and the answer must be a well-formed sequence of responses, a
// connection-closing one only last.
func FuzzHTTPRequest(f *testing.F) {
	for _, seed := range []string{
		"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"garbage\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // long inputs find nothing more, only slow the fuzzer down
		}
		whole, closing := serveBytes(data, len(data)+1)
		for _, chunk := range []int{1, 3, 64} {
			split, c := serveBytes(data, chunk)
			// A 100 Continue goes out only when a body is still to
			// come, which depends on the split; the rest must not.
			require.Equal(t, strings.ReplaceAll(whole, continueReply, ""),
				strings.ReplaceAll(split, continueReply, ""), "reads of %d", chunk)
			require.Equal(t, closing, c)
		}
		rs := parseResponses(t, whole)
		for i, r := range rs {
			if r.headers.Get("Connection") == "close" {
				require.Equal(t, len(rs)-1, i, "a response after one that closes")
				require.True(t, closing)
			}
		}
	})
}
