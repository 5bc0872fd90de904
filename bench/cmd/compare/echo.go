package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// echoSizes and echoConns are scenario 1's grid.
var (
	echoSizes = []int{64, 1024}
	echoConns = []int{50, 1000, 5000}
)

// echoDuration is how long each echo measurement runs.
func (r *runner) echoDuration() time.Duration {
	if r.opts.quick {
		return 1500 * time.Millisecond
	}
	return 5 * time.Second
}

// echo runs scenario 1: every echo server, every size and connection
// count, measured by bench's load client.
func (r *runner) echo() {
	impls, err := r.implsOf("echo")
	if err != nil {
		r.skip("echo", err.Error())
		return
	}
	d := r.echoDuration()
	total, step := len(impls)*len(echoSizes)*len(echoConns), 0
	for _, impl := range impls {
		r.command("echo server "+impl, r.pinned(r.srvCPUs, "server", "-kind", "echo", "-impl", impl, "-addr", "127.0.0.1:0")...)
		srv, err := r.startServer([]string{filepath.Join(r.bin, "server"), "-kind", "echo", "-impl", impl, "-addr", "127.0.0.1:0"}, 0)
		if err != nil {
			r.say("echo %s: %v", impl, err)
			for _, size := range echoSizes {
				for _, conns := range echoConns {
					step++
					r.report.Echo = append(r.report.Echo, EchoRow{Impl: impl, Size: size, Conns: conns, Err: err.Error()})
				}
			}
			continue
		}
		for _, size := range echoSizes {
			for _, conns := range echoConns {
				step++
				row := r.echoOnce(srv, impl, size, conns, d)
				r.report.Echo = append(r.report.Echo, row)
				r.say("[echo %d/%d] %-8s %5d B %5d conns: %s", step, total, impl, size, conns, row.summary())
				if r.ctx.Err() != nil {
					srv.stop()
					return
				}
			}
		}
		srv.stop()
	}
}

// echoOnce measures one server at one size and connection count.
func (r *runner) echoOnce(srv *proc, impl string, size, conns int, d time.Duration) EchoRow {
	row := EchoRow{Impl: impl, Size: size, Conns: conns}
	args := []string{"-addr", srv.addr, "-conns", strconv.Itoa(conns), "-size", strconv.Itoa(size),
		"-pipeline", "1", "-duration", d.String()}
	r.command("echo", r.pinned(r.cliCPUs, "echoload", args...)...)
	cpu0, err := cpuTime(srv.pid())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	out, err := r.load(d+2*time.Minute, filepath.Join(r.bin, "echoload"), args...)
	cpu1, cerr := cpuTime(srv.pid())
	if err == nil {
		err = cerr
	}
	res, perr := parseEchoLoad(out)
	if err == nil {
		err = perr
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.MsgsPerSec, row.P50us, row.P99us, row.P999us = res.rate, res.p50, res.p99, res.p999
	if msgs := res.rate * d.Seconds(); msgs > 0 {
		row.ServerCPUus = float64(cpu1-cpu0) / float64(time.Microsecond) / msgs
	}
	return row
}

// echoLoadResult is echoload's line.
type echoLoadResult struct {
	rate, p50, p99, p999 float64
	errors               int
}

// parseEchoLoad reads echoload's result line:
//
//	msgs/s=... MB/s=... p50=...µs p99=...µs p999=...µs errors=N [first_error="..."]
func parseEchoLoad(out string) (echoLoadResult, error) {
	var res echoLoadResult
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	found := 0
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		v = strings.TrimSuffix(v, "µs")
		var err error
		switch k {
		case "msgs/s":
			res.rate, err = strconv.ParseFloat(v, 64)
		case "p50":
			res.p50, err = strconv.ParseFloat(v, 64)
		case "p99":
			res.p99, err = strconv.ParseFloat(v, 64)
		case "p999":
			res.p999, err = strconv.ParseFloat(v, 64)
		case "errors":
			res.errors, err = strconv.Atoi(v)
		default:
			continue
		}
		if err != nil {
			return res, fmt.Errorf("echoload printed %q: %w", line, err)
		}
		found++
	}
	if found != 5 {
		return res, fmt.Errorf("echoload printed %q", line)
	}
	if res.errors != 0 {
		return res, fmt.Errorf("echoload counted %d errors: %s", res.errors, line)
	}
	return res, nil
}

// idleConns is scenario 4's connection count.
const idleConns = 10_000

// idle runs scenario 4: the resident memory each echo server holds per
// idle connection.
func (r *runner) idle() {
	impls, err := r.implsOf("echo")
	if err != nil {
		r.skip("idle", err.Error())
		return
	}
	for i, impl := range impls {
		row := r.idleOnce(impl)
		r.report.Idle = append(r.report.Idle, row)
		r.say("[idle %d/%d] %-8s %s", i+1, len(impls), impl, row.summary())
		if r.ctx.Err() != nil {
			return
		}
	}
}

func (r *runner) idleOnce(impl string) IdleRow {
	row := IdleRow{Impl: impl, Conns: idleConns}
	fail := func(err error) IdleRow { row.Err = err.Error(); return row }
	srv, err := r.startServer([]string{filepath.Join(r.bin, "server"), "-kind", "echo", "-impl", impl, "-addr", "127.0.0.1:0"}, 0)
	if err != nil {
		return fail(err)
	}
	defer srv.stop()
	if err := srv.gc(); err != nil {
		return fail(err)
	}
	if row.RSSBefore, err = rss(srv.pid()); err != nil {
		return fail(err)
	}
	args := []string{"-hold", "-addr", srv.addr, "-conns", strconv.Itoa(idleConns), "-size", "64"}
	line := r.pinned(r.cliCPUs, filepath.Join(r.bin, "echoload"), args...)
	r.command("idle", r.pinned(r.cliCPUs, "echoload", args...)...)
	hold := exec.CommandContext(r.ctx, line[0], line[1:]...)
	stdout, err := hold.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	stderr := &tailBuffer{max: 4 << 10}
	hold.Stderr = stderr
	if err := hold.Start(); err != nil {
		return fail(err)
	}
	defer func() {
		_ = hold.Process.Signal(syscall.SIGTERM)
		_ = hold.Wait()
	}()
	ready := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Scan()
		ready <- s.Text()
	}()
	select {
	case l := <-ready:
		if l != fmt.Sprintf("ready open=%d", idleConns) {
			return fail(fmt.Errorf("echoload -hold: %q; stderr: %s", l, stderr))
		}
	case <-time.After(2 * time.Minute):
		return fail(fmt.Errorf("echoload -hold not ready within 2m; stderr: %s", stderr))
	}
	if err := srv.gc(); err != nil {
		return fail(err)
	}
	if row.RSSAfter, err = rss(srv.pid()); err != nil {
		return fail(err)
	}
	row.PerConn = float64(row.RSSAfter-row.RSSBefore) / idleConns
	return row
}
