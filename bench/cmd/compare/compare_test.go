package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestParseEchoLoad(t *testing.T) {
	res, err := parseEchoLoad("msgs/s=63113 MB/s=4.04 p50=14811.1µs p99=32636.9µs p999=38797.3µs errors=0\n")
	if err != nil {
		t.Fatal(err)
	}
	if res.rate != 63113 || res.p50 != 14811.1 || res.p99 != 32636.9 || res.p999 != 38797.3 {
		t.Fatalf("parsed %+v", res)
	}
	for _, bad := range []string{
		"",
		"msgs/s=1 p50=1µs p99=1µs errors=0", // p999 missing
		"msgs/s=x MB/s=1 p50=1µs p99=1µs p999=1µs errors=0",                                  // not a number
		`msgs/s=1 MB/s=1 p50=1µs p99=1µs p999=1µs errors=3 first_error="round 2: read: EOF"`, // errors
	} {
		if _, err := parseEchoLoad(bad); err == nil {
			t.Errorf("parseEchoLoad(%q) succeeded", bad)
		}
	}
}

func TestParseRedisBenchmarkCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"PING_INLINE","790513.88","0.548","0.232","0.527","0.671","1.279","3.671"
"PING_MBULK","638977.62","0.726","0.312","0.551","1.575","2.351","4.839"
"SET","514138.81","1.003","0.264","0.991","1.519","1.791","3.623"
"GET","507614.22","1.008","0.360","0.927","1.551","3.495","5.855"
`
	rps, p50, err := parseRedisBenchmarkCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if rps["GET"] != 507614.22 || p50["SET"] != 0.991 || len(rps) != 4 {
		t.Fatalf("rps %v p50 %v", rps, p50)
	}
	// A test that did not run is an error, not a zero.
	missing := strings.Join(strings.Split(out, "\n")[:4], "\n")
	if _, _, err := parseRedisBenchmarkCSV(missing); err == nil {
		t.Error("output without GET was accepted")
	}
	if _, _, err := parseRedisBenchmarkCSV(`"PING_INLINE","1","1","1","1","1","1","1"`); err == nil {
		t.Error("output without a header was accepted")
	}
}

const wrkOutput = `Running 5s test @ http://127.0.0.1:8080/
  1 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms  512.00us  12.00ms   90.00%
    Req/Sec    99.00k     3.00k  110.00k    80.00%
  Latency Distribution
     50%    2.01ms
     75%    2.30ms
     90%    2.70ms
     99%  812.00us
  495000 requests in 5.00s, 60.00MB read
Requests/sec:  99000.12
Transfer/sec:     12.00MB
`

func TestParseWrk(t *testing.T) {
	res, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if res.rps != 99000.12 || res.p50 != 2.01 || res.p99 != 0.812 {
		t.Fatalf("parsed %+v", res)
	}
	// Failed requests make the run a failure.
	for _, extra := range []string{
		"  Non-2xx or 3xx responses: 12\n",
		"  Socket errors: connect 0, read 5, write 0, timeout 0\n",
	} {
		if _, err := parseWrk(wrkOutput + extra); err == nil {
			t.Errorf("wrk output with %q was accepted", strings.TrimSpace(extra))
		}
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("wrk output without figures was accepted")
	}
	for in, want := range map[string]float64{"812.00us": 0.812, "1.5ms": 1.5, "2.00s": 2000, "1.00m": 60000} {
		if got, err := wrkDuration(in); err != nil || got != want {
			t.Errorf("wrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestParsePerfCSV(t *testing.T) {
	out := `428002,,raw_syscalls:sys_enter,3001234567,100.00,,
198702,,syscalls:sys_enter_read,3001234567,100.00,,
<not supported>,,syscalls:sys_enter_readv,0,100.00,,
`
	counts, err := parsePerfCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if counts["raw_syscalls:sys_enter"] != 428002 || counts["syscalls:sys_enter_read"] != 198702 {
		t.Fatalf("counts %v", counts)
	}
	if _, ok := counts["syscalls:sys_enter_readv"]; ok {
		t.Error("an event perf could not count was given a value")
	}
	if _, err := parsePerfCSV("Error: no permission\n"); err == nil {
		t.Error("perf output without the syscall total was accepted")
	}
}

func TestParseBenchmarksTakesMedians(t *testing.T) {
	out := `goos: linux
BenchmarkTimeouts/metal/workers=1-2         100   99.0 ns/op   0 B/op   0 allocs/op
BenchmarkTimeouts/metal/workers=1-2         100  101.0 ns/op   0 B/op   0 allocs/op
BenchmarkTimeouts/metal/workers=1-2         100  500.0 ns/op   0 B/op   0 allocs/op
BenchmarkTimeouts/AfterFunc/goroutines=1-2  100  290.0 ns/op  64 B/op   1 allocs/op
BenchmarkTimerLateness-2   1   900000000 ns/op   660.0 p50-late-µs   3100 p99-late-µs
PASS
`
	rows, err := parseBenchmarks(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	if rows[0].Name != "Timeouts/metal/workers=1" || rows[0].Median["ns/op"] != 101 || rows[0].Runs != 3 {
		t.Errorf("first row %+v", rows[0])
	}
	if rows[2].Median["p99-late-µs"] != 3100 {
		t.Errorf("lateness row %+v", rows[2])
	}
	if b, impl, param := microGroup(rows[1].Name); b != "Timeouts" || impl != "AfterFunc" || param != "1" {
		t.Errorf("microGroup(%q) = %q %q %q", rows[1].Name, b, impl, param)
	}
	if _, err := parseBenchmarks("FAIL\n"); err == nil {
		t.Error("output without benchmarks was accepted")
	}
}

// sampleReport is a report with a little of everything, std first.
func sampleReport() *Report {
	rep := &Report{Date: "2026-11-30 10:00 UTC", Took: "4m0s", Machine: Machine{CPU: "Test CPU", CPUs: 2, Go: "go1.26", Commit: "abc"}}
	for _, impl := range []string{"std", "metal", "gnet"} {
		for _, size := range echoSizes {
			for _, c := range echoConns {
				rep.Echo = append(rep.Echo, EchoRow{Impl: impl, Size: size, Conns: c, MsgsPerSec: 1000 * float64(len(impl)), P99us: 900, ServerCPUus: 10})
			}
		}
		rep.Idle = append(rep.Idle, IdleRow{Impl: impl, Conns: idleConns, RSSBefore: 8 << 20, RSSAfter: 16 << 20, PerConn: 800})
	}
	rep.Echo[len(rep.Echo)-1].Err = "echoload counted 3 errors"
	for _, impl := range []string{"std", "metal", "redis"} {
		rep.Resp = append(rep.Resp, RespRow{Impl: impl, Conns: 50, Pipeline: 1,
			RPS: map[string]float64{"PING_INLINE": 1, "PING_MBULK": 1, "SET": 1, "GET": float64(len(impl))}})
	}
	rep.HTTP = append(rep.HTTP, HTTPRow{Impl: "std", Pipeline: 1, RPS: 100}, HTTPRow{Impl: "nginx", Pipeline: 1, RPS: 150})
	rep.Micro = []MicroRow{
		{Name: "PingPong/metal_go", Runs: 5, Median: map[string]float64{"ns/op": 400, "allocs/op": 3}},
		{Name: "PingPong/metal", Runs: 5, Median: map[string]float64{"ns/op": 800, "allocs/op": 0}},
		{Name: "PingPong/goroutines", Runs: 5, Median: map[string]float64{"ns/op": 1600}},
	}
	rep.Commands = []string{"echo: taskset -c 1 echoload -addr 127.0.0.1:$PORT"}
	rep.Skipped = []string{"syscalls: install Debian packages: linux-perf"}
	return rep
}

func TestMarkdownHasEveryTableAndRatio(t *testing.T) {
	md := markdown(sampleReport())
	for _, want := range []string{
		"## 1. Echo ping-pong",
		"| **metal** | 1.67x | 10.00 | 1.67x |",
		"| gnet | 1.33x | 10.00 |",
		"| metal | **5.0k** (1.67x)", // metal's ratio to std: 5000/3000
		"- echo gnet 1024 B 5000 conns: `echoload counted 3 errors`",
		"| redis | 1 | 1 | 1 | 5 | 1.67x | 1.00x |",
		"| nginx | **150** (1.50x)",
		"**800 B**",
		"| PingPong | 800ns | 0 | goroutines | 1.6µs | **2.00x** |",
		"| PingPong, go | 400ns | 3 | goroutines | 1.6µs | **4.00x** |",
		"- syscalls: install Debian packages: linux-perf",
		"127.0.0.1:$PORT",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, md)
		}
	}
}

func TestMicroTableComparesEachMetalWayOnlyWithTheGoAlternative(t *testing.T) {
	_, micro, ok := strings.Cut(markdown(sampleReport()), "## 6. Scheduler")
	if !ok {
		t.Fatal("RESULTS.md has no micro-benchmark section")
	}
	if strings.Contains(micro, "| metal_go |") || strings.Contains(micro, "| metal | 800ns") {
		t.Errorf("a metal row is listed as an alternative to another:\n%s", micro)
	}
}

func TestChartIsWellFormedSVGWithABarPerResult(t *testing.T) {
	svg := chart(sampleReport())
	d := xml.NewDecoder(strings.NewReader(svg))
	bars := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart.svg is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "title" {
			bars++
		}
	}
	// Echo: 6 groups × 3 implementations, less the failed one; RESP: 3;
	// HTTP: 2.
	if want := 6*3 - 1 + 3 + 2; bars != want {
		t.Errorf("%d bars, want %d", bars, want)
	}
}

func TestProgressWindow(t *testing.T) {
	out := "progress msgs=1000\nprogress msgs=61000\nmsgs/s=1 MB/s=1 p50=1µs p99=1µs p999=1µs errors=0\n"
	if n, err := progressWindow(out); err != nil || n != 60000 {
		t.Fatalf("progressWindow = %v, %v; want 60000", n, err)
	}
	if _, err := progressWindow("progress msgs=1000\n"); err == nil {
		t.Error("one progress line was accepted")
	}
}
