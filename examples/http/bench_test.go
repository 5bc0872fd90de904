package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchRequest is what wrk sends.
const benchRequest = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

// A browser-like request: more fields to skip.
const benchBrowserRequest = "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n\r\n"

// benchExchange parses and answers reqs (one read's worth) per iteration,
// as the connection task does between a read and a write.
func benchExchange(b *testing.B, reqs string, perIter int) {
	x := newExchange(httpDate)
	b.ReportAllocs()
	b.SetBytes(int64(len(reqs)))
	for b.Loop() {
		x.received(copy(x.space(), reqs))
		if len(x.in) != 0 || x.closing {
			b.Fatal("request not answered")
		}
		x.out = x.out[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perIter), "ns/req")
}

// BenchmarkExchange is the task-based server's per-request work: parsing
// and writing the response into the output buffer. Steady state: 0
// allocations.
func BenchmarkExchange(b *testing.B) {
	b.Run("wrk", func(b *testing.B) { benchExchange(b, benchRequest, 1) })
	b.Run("browser", func(b *testing.B) { benchExchange(b, benchBrowserRequest, 1) })
	b.Run("pipelined16", func(b *testing.B) { benchExchange(b, strings.Repeat(benchRequest, 16), 16) })
}

// BenchmarkStdReadRequest is the same work done the net/http way, for the
// ratio: http.ReadRequest, then a response written through
// http.Response.Write.
func BenchmarkStdReadRequest(b *testing.B) {
	run := func(b *testing.B, reqs string, perIter int) {
		src := strings.NewReader(reqs)
		br := bufio.NewReader(src)
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		b.ReportAllocs()
		b.SetBytes(int64(len(reqs)))
		for b.Loop() {
			src.Reset(reqs)
			br.Reset(src)
			out.Reset()
			bw.Reset(&out)
			for range perIter {
				req, err := http.ReadRequest(br)
				if err != nil {
					b.Fatal(err)
				}
				resp := http.Response{
					StatusCode:    200,
					ProtoMajor:    1,
					ProtoMinor:    1,
					Request:       req,
					ContentLength: int64(len(helloBody)),
					Header: http.Header{
						"Server":       serverValue,
						"Date":         []string{string(httpDate())},
						"Content-Type": textPlainValue,
					},
					Body: io.NopCloser(strings.NewReader(helloBody)),
				}
				if err := resp.Write(bw); err != nil {
					b.Fatal(err)
				}
			}
			_ = bw.Flush()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perIter), "ns/req")
	}
	b.Run("wrk", func(b *testing.B) { run(b, benchRequest, 1) })
	b.Run("browser", func(b *testing.B) { run(b, benchBrowserRequest, 1) })
	b.Run("pipelined16", func(b *testing.B) { run(b, strings.Repeat(benchRequest, 16), 16) })
}

// Parsing and answering requests, pipelined or not, allocates nothing.
func TestExchangeAllocatesNothingPerRequest(t *testing.T) {
	x := newExchange(fixedDate)
	reqs := strings.Repeat(benchRequest, 16) + benchBrowserRequest
	allocs := testing.AllocsPerRun(1000, func() {
		x.received(copy(x.space(), reqs))
		x.out = x.out[:0]
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 17 requests, want 0", allocs)
	}
}
