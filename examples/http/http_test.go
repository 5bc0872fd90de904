package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalio/metal/internal/testutil"
)

// ioTimeout bounds every network wait; a passing test never comes near it.
const ioTimeout = 10 * time.Second

// server is the http binary, built on first use: the unit tests and the
// fuzz workers never need it.
var server = testutil.NewExample("http")

// TestMain runs the tests, then removes the binary if one was built.
func TestMain(m *testing.M) { server.TestMain(m) }

// modes are the server's two ways of serving: tasks, and net/http on the
// facade.
var modes = []struct {
	name string
	args []string
}{
	{"tasks", nil},
	{"std", []string{"-std"}},
}

// runCurl runs curl with args and returns its stdout and stderr.
func runCurl(t *testing.T, curl string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, append([]string{"--max-time", "5"}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "curl %v: %s", args, errOut.String())
	return out.String(), errOut.String()
}

// curl gets Hello, World!, reuses one connection for two URLs, and gets
// 404, 405, bodies read and HEAD answered, in both modes.
func TestServesCurl(t *testing.T) {
	curl := testutil.RequireTool(t, "curl", "curl")
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			addr, _ := server.Start(t, mode.args...)
			url := "http://" + addr

			out, _ := runCurl(t, curl, "-s", url+"/plaintext")
			require.Equal(t, helloBody, out)

			// Two URLs in one command: the second reuses the connection.
			out, errOut := runCurl(t, curl, "-sv", url+"/plaintext", url+"/plaintext?again")
			require.Equal(t, helloBody+helloBody, out)
			require.Contains(t, errOut, "< HTTP/1.1 200 OK")
			require.Contains(t, errOut, "Re-using existing connection")
			require.Equal(t, 1, strings.Count(errOut, "Connected to"), "one connection for both: %s", errOut)
			require.Contains(t, errOut, "< Server: metal")
			require.Contains(t, errOut, "< Content-Type: text/plain")
			require.Contains(t, errOut, "< Content-Length: 13")
			require.Contains(t, errOut, "< Date: ")

			code, _ := runCurl(t, curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", url+"/elsewhere")
			require.Equal(t, "404", code)
			code, _ = runCurl(t, curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", url+"/plaintext")
			require.Equal(t, "405", code)
			// A body, plain and chunked, is read and the connection
			// reused for the next request.
			_, errOut = runCurl(t, curl, "-sv", "-d", strings.Repeat("x", 100_000), url+"/plaintext", "--next",
				"-sv", "-H", "Transfer-Encoding: chunked", "-d", strings.Repeat("y", 50_000), url+"/plaintext")
			require.Equal(t, 2, strings.Count(errOut, "< HTTP/1.1 405"), errOut)
			require.Contains(t, errOut, "> Content-Length: 100000")
			require.Contains(t, errOut, "> Transfer-Encoding: chunked")
			require.Contains(t, errOut, "Re-using existing connection")
			if mode.name == "tasks" {
				// A client that waits for a go-ahead gets one at once.
				_, errOut = runCurl(t, curl, "-sv", "-H", "Expect: 100-continue", "--expect100-timeout", "4",
					"--data-binary", strings.Repeat("z", 10_000), url+"/plaintext")
				require.Contains(t, errOut, "< HTTP/1.1 100 Continue")
				require.Contains(t, errOut, "< HTTP/1.1 405")
			}
			// HEAD: the headers and no body.
			out, _ = runCurl(t, curl, "-sI", url+"/plaintext")
			require.Contains(t, out, "HTTP/1.1 200 OK")
			require.Contains(t, out, "Content-Length: 13")
		})
	}
}

// dialRaw connects a plain socket with a deadline for everything.
func dialRaw(t *testing.T, addr string) *stdnet.TCPConn {
	t.Helper()
	return testutil.DialTCP(t, addr, ioTimeout, ioTimeout)
}

// readResponses reads n responses to GETs from r.
func readResponses(t *testing.T, r *bufio.Reader, n int) []*http.Response {
	t.Helper()
	var rs []*http.Response
	for i := range n {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err, "response %d", i)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "response %d body", i)
		resp.Body.Close()
		resp.Header.Set("X-Test-Body", string(body))
		rs = append(rs, resp)
	}
	return rs
}

// requireClosed checks that the server closes the connection next.
func requireClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	b, err := r.ReadByte()
	require.ErrorIs(t, err, io.EOF, "got %q instead of the end of the stream", b)
}

// Sixteen requests in one write get sixteen responses in order.
func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			addr, _ := server.Start(t, mode.args...)
			c := dialRaw(t, addr)
			var reqs strings.Builder
			for i := range 16 {
				path := "/plaintext"
				if i%3 == 0 {
					path = fmt.Sprintf("/missing/%d", i)
				}
				fmt.Fprintf(&reqs, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
			}
			_, err := io.WriteString(c, reqs.String()) // one write
			require.NoError(t, err)
			rs := readResponses(t, bufio.NewReader(c), 16)
			for i, r := range rs {
				if i%3 == 0 {
					require.Equal(t, 404, r.StatusCode, "response %d", i)
				} else {
					require.Equal(t, 200, r.StatusCode, "response %d", i)
					require.Equal(t, helloBody, r.Header.Get("X-Test-Body"), "response %d", i)
				}
				require.Equal(t, "metal", r.Header.Get("Server"))
			}
		})
	}
}

// Connection: close and HTTP/1.0 get their response and then the end of
// the stream; HTTP/1.0 with keep-alive stays open.
func TestConnectionCloseAndHTTP10CloseTheConnection(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			addr, _ := server.Start(t, mode.args...)
			for _, req := range []string{
				"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
				"GET /plaintext HTTP/1.0\r\n\r\n",
			} {
				c := dialRaw(t, addr)
				_, err := io.WriteString(c, req)
				require.NoError(t, err)
				r := bufio.NewReader(c)
				rs := readResponses(t, r, 1)
				require.Equal(t, 200, rs[0].StatusCode)
				require.True(t, rs[0].Close, "%q: response should say it closes", req)
				requireClosed(t, r)
			}
			// HTTP/1.0 asking for keep-alive gets it.
			c := dialRaw(t, addr)
			r := bufio.NewReader(c)
			for range 2 {
				_, err := io.WriteString(c, "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
				require.NoError(t, err)
				rs := readResponses(t, r, 1)
				require.Equal(t, 200, rs[0].StatusCode)
				require.False(t, rs[0].Close)
			}
		})
	}
}

// A malformed request gets 400 and the connection closes, leaving the
// request after it unanswered.
func TestMalformedRequestGets400ThenClose(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			addr, _ := server.Start(t, mode.args...)
			for _, req := range []string{
				"this is not http\r\n\r\n",
				"GET /plaintext HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
				"GET /plaintext HTTP/1.1\r\n\r\n", // no Host
			} {
				c := dialRaw(t, addr)
				_, err := io.WriteString(c, req+"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
				require.NoError(t, err)
				r := bufio.NewReader(c)
				rs := readResponses(t, r, 1)
				require.Equal(t, 400, rs[0].StatusCode, "%q", req)
				requireClosed(t, r)
			}
		})
	}
}

// A head over 8 KiB gets 431 and the connection closes.
func TestOversizedHeadGets431(t *testing.T) {
	addr, _ := server.Start(t) // net/http's limit differs (it adds 4 KiB of slack)
	c := dialRaw(t, addr)
	_, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Big: "+strings.Repeat("b", maxHead)+"\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(c)
	rs := readResponses(t, r, 1)
	require.Equal(t, 431, rs[0].StatusCode)
	requireClosed(t, r)
}

// SIGTERM and SIGINT end the server with status 0, closing idle
// keep-alive connections, in both modes.
func TestStopsCleanlyOnSignal(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
				addr, cmd := server.Start(t, mode.args...)
				// An idle keep-alive connection.
				c := dialRaw(t, addr)
				_, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
				require.NoError(t, err)
				r := bufio.NewReader(c)
				readResponses(t, r, 1)

				testutil.StopWithSignal(t, cmd, sig)
				requireClosed(t, r)
			}
		})
	}
}
