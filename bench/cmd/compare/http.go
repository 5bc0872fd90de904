package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metalio/metal/bench/servers/plaintext"
)

// httpConns and httpDepth are scenario 3's load: wrk's connections and the
// pipelining depth of its second run.
const (
	httpConns = 256
	httpDepth = 16
)

func (r *runner) httpDuration() time.Duration {
	if r.opts.quick {
		return 2 * time.Second
	}
	return 5 * time.Second
}

// http runs scenario 3: wrk against every HTTP server and nginx, one
// request at a time per connection and pipelined httpDepth deep.
func (r *runner) http() {
	if !r.have("http", "wrk") {
		return
	}
	impls, err := r.implsOf("http")
	if err != nil {
		r.skip("http", err.Error())
		return
	}
	type server struct {
		name  string
		argv  []string
		port  int
		setup func() ([]string, error) // makes argv, for a server that needs files
	}
	var servers []server
	for _, impl := range impls {
		servers = append(servers, server{name: impl, argv: []string{filepath.Join(r.bin, "server"), "-kind", "http", "-impl", impl, "-addr", "127.0.0.1:0"}})
	}
	if r.wants("nginx") && r.have("http: the nginx anchor", "nginx") {
		port, err := freePort()
		if err != nil {
			r.skip("http nginx", err.Error())
		} else {
			dir := filepath.Join(r.bin, "nginx")
			nginx, _ := lookTool("nginx")
			servers = append(servers, server{name: "nginx", port: port, setup: func() ([]string, error) {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, err
				}
				conf, err := plaintext.NginxConfig(dir, port)
				if err != nil {
					return nil, err
				}
				// -p: the prefix for relative paths; -e: the error log
				// before the configuration is read.
				return []string{nginx, "-p", dir + "/", "-c", conf, "-e", "stderr"}, nil
			}})
		}
	}
	script := filepath.Join(r.bench, "servers", "plaintext", "testdata", "pipeline.lua")
	d := r.httpDuration()
	total, step := len(servers)*2, 0
	for _, s := range servers {
		var srv *proc
		argv, err := s.argv, error(nil)
		if s.setup != nil {
			argv, err = s.setup()
		}
		if err == nil {
			shown := slices.Clone(argv)
			shown[0] = filepath.Base(shown[0])
			r.command("http server "+s.name, r.pinned(r.srvCPUs, shown[0], shown[1:]...)...)
			srv, err = r.startServer(argv, s.port)
		}
		for _, depth := range []int{1, httpDepth} {
			step++
			row := HTTPRow{Impl: s.name, Pipeline: depth, Conns: httpConns}
			if err != nil {
				row.Err = err.Error()
			} else {
				row = r.httpOnce(srv, row, d, script)
			}
			r.report.HTTP = append(r.report.HTTP, row)
			r.say("[http %d/%d] %-9s pipeline=%-2d %s", step, total, s.name, depth, row.summary())
		}
		if srv != nil {
			srv.stop()
		}
		if r.ctx.Err() != nil {
			return
		}
	}
}

func (r *runner) httpOnce(srv *proc, row HTTPRow, d time.Duration, script string) HTTPRow {
	args := []string{"-t1", "-c" + strconv.Itoa(row.Conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if row.Pipeline > 1 {
		args = append(args, "-s", script)
	}
	args = append(args, "http://"+srv.addr+"/")
	if row.Pipeline > 1 {
		args = append(args, "--", strconv.Itoa(row.Pipeline))
	}
	r.command("http", r.pinned(r.cliCPUs, "wrk", args...)...)
	cpu0, err := cpuTime(srv.pid())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	out, err := r.load(d+time.Minute, "wrk", args...)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	cpu1, err := cpuTime(srv.pid())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	res, err := parseWrk(out)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.RPS, row.P50ms, row.P99ms = res.rps, res.p50, res.p99
	if n := res.rps * d.Seconds(); n > 0 {
		row.ServerCPUus = float64(cpu1-cpu0) / float64(time.Microsecond) / n
	}
	return row
}

// wrkResult is what compare reads from wrk's report.
type wrkResult struct {
	rps, p50, p99 float64 // requests a second; latency in ms
}

// parseWrk reads wrk --latency's report. Socket errors other than
// connect-time ones and non-2xx responses make it an error: a server that
// fails requests must not look fast.
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	var haveRPS, have50, have99 bool
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return res, fmt.Errorf("wrk: %q: %w", line, err)
			}
			res.rps, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			ms, err := wrkDuration(f[1])
			if err != nil {
				return res, fmt.Errorf("wrk: %q: %w", line, err)
			}
			if f[0] == "50%" {
				res.p50, have50 = ms, true
			} else {
				res.p99, have99 = ms, true
			}
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			return res, fmt.Errorf("wrk: %s", strings.TrimSpace(line))
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			if !strings.Contains(line, "read 0, write 0, timeout 0") {
				return res, fmt.Errorf("wrk: %s", strings.TrimSpace(line))
			}
		}
	}
	if !haveRPS || !have50 || !have99 {
		return res, fmt.Errorf("wrk printed no Requests/sec or latency distribution: %s", strings.TrimSpace(out))
	}
	if res.rps <= 0 {
		return res, fmt.Errorf("wrk: no request completed")
	}
	return res, nil
}

// wrkDuration parses wrk's durations ("812.00us", "1.20ms", "2.01s") into
// milliseconds.
func wrkDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"m", 60e3}, {"s", 1e3}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			return f * u.ms, nil
		}
	}
	return 0, fmt.Errorf("unknown unit in %q", s)
}
