package main

import (
	"encoding/csv"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// respConns and respPipelines are scenario 2's grid.
var (
	respConns     = []int{50, 1000}
	respPipelines = []int{1, 16}
)

// respTests are the tests redis-benchmark -t ping,set,get runs, in order.
var respTests = []string{"PING_INLINE", "PING_MBULK", "SET", "GET"}

// respRequests is redis-benchmark's -n: requests per test, enough for a
// second or more of each on a small machine.
func (r *runner) respRequests(pipeline int) int {
	n := 100_000
	if pipeline > 1 {
		n = 1_000_000
	}
	if r.opts.quick {
		n /= 10
	}
	return n
}

// respServer is a RESP server compare can start.
type respServer struct {
	name  string
	argv  func(port int) []string
	port0 bool // prints its address; else listens on the port given
}

// resp runs scenario 2: redis-benchmark against every RESP server, metal's
// examples/kv and redis-server.
func (r *runner) resp() {
	if !r.have("resp", "redis-benchmark") {
		return
	}
	impls, err := r.implsOf("resp")
	if err != nil {
		r.skip("resp", err.Error())
		return
	}
	var servers []respServer
	for _, impl := range impls {
		servers = append(servers, respServer{name: impl, port0: true, argv: func(int) []string {
			return []string{filepath.Join(r.bin, "server"), "-kind", "resp", "-impl", impl, "-addr", "127.0.0.1:0"}
		}})
	}
	if r.wants("kv") {
		servers = append(servers, respServer{name: "kv", port0: true, argv: func(int) []string {
			return []string{filepath.Join(r.bin, "kv"), "-addr", "127.0.0.1:0"}
		}})
	}
	if r.wants("redis") && r.have("resp: the redis anchor", "redis-server") {
		servers = append(servers, respServer{name: "redis", argv: func(port int) []string {
			// Persistence off, as the Go servers have none.
			return []string{"redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
				"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""}
		}})
	}
	total, step := len(servers)*len(respConns)*len(respPipelines), 0
	for _, s := range servers {
		port := 0
		if !s.port0 {
			if port, err = freePort(); err != nil {
				r.skip("resp "+s.name, err.Error())
				continue
			}
		}
		argv := s.argv(port)
		shown := slices.Clone(argv)
		if port != 0 {
			shown = slices.Clone(s.argv(0))
			shown[slices.Index(shown, "0")] = "$PORT"
		}
		shown[0] = filepath.Base(shown[0])
		r.command("resp server "+s.name, r.pinned(r.srvCPUs, shown[0], shown[1:]...)...)
		srv, err := r.startServer(argv, port)
		for _, conns := range respConns {
			for _, pipeline := range respPipelines {
				step++
				row := RespRow{Impl: s.name, Conns: conns, Pipeline: pipeline}
				if err != nil {
					row.Err = err.Error()
				} else {
					row = r.respOnce(srv, row)
				}
				r.report.Resp = append(r.report.Resp, row)
				r.say("[resp %d/%d] %-8s c=%-4d P=%-2d %s", step, total, s.name, conns, pipeline, row.summary())
				if r.ctx.Err() != nil {
					if srv != nil {
						srv.stop()
					}
					return
				}
			}
		}
		if srv != nil {
			srv.stop()
		}
	}
}

func (r *runner) respOnce(srv *proc, row RespRow) RespRow {
	args := []string{"-h", "127.0.0.1", "-p", srv.port(), "-t", "ping,set,get",
		"-c", strconv.Itoa(row.Conns), "-P", strconv.Itoa(row.Pipeline),
		"-n", strconv.Itoa(r.respRequests(row.Pipeline)), "--csv"}
	shown := slices.Clone(args)
	shown[3] = "$PORT"
	r.command("resp", r.pinned(r.cliCPUs, "redis-benchmark", shown...)...)
	cpu0, err := cpuTime(srv.pid())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	out, err := r.load(5*time.Minute, "redis-benchmark", args...)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	cpu1, err := cpuTime(srv.pid())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.RPS, row.P50ms, err = parseRedisBenchmarkCSV(out)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	// Every test sent -n requests; the connections' setup is in the
	// time too, the same for every server.
	requests := float64(r.respRequests(row.Pipeline) * len(respTests))
	row.ServerCPUus = float64(cpu1-cpu0) / float64(time.Microsecond) / requests
	return row
}

// parseRedisBenchmarkCSV reads redis-benchmark --csv output: a header and
// one line per test, "test","rps","avg_latency_ms","min_latency_ms",
// "p50_latency_ms",... It requires every test of respTests.
func parseRedisBenchmarkCSV(out string) (rps, p50 map[string]float64, err error) {
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("redis-benchmark output: %w", err)
	}
	rps, p50 = map[string]float64{}, map[string]float64{}
	col := map[string]int{}
	for _, rec := range recs {
		if len(rec) > 0 && rec[0] == "test" {
			for i, name := range rec {
				col[name] = i
			}
			continue
		}
		ri, ok1 := col["rps"]
		pi, ok2 := col["p50_latency_ms"]
		if !ok1 || !ok2 || len(rec) <= max(ri, pi) {
			return nil, nil, fmt.Errorf("redis-benchmark output: line %q before a header with rps and p50_latency_ms", rec)
		}
		v, err1 := strconv.ParseFloat(rec[ri], 64)
		l, err2 := strconv.ParseFloat(rec[pi], 64)
		if err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("redis-benchmark output: line %q", rec)
		}
		rps[rec[0]], p50[rec[0]] = v, l
	}
	for _, t := range respTests {
		if rps[t] <= 0 {
			return nil, nil, fmt.Errorf("redis-benchmark reported no rate for %s: %s", t, strings.TrimSpace(out))
		}
	}
	return rps, p50, nil
}
