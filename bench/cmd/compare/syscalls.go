package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// syscallConns and syscallSize are scenario 5's load.
const (
	syscallConns = 1000
	syscallSize  = 64
)

// syscallEvents are the tracepoints perf counts: every system call, and
// the ones an echo server makes most, by name. The columns of the table
// are these, in this order.
var syscallEvents = []struct{ col, event string }{
	{"all", "raw_syscalls:sys_enter"},
	{"read", "syscalls:sys_enter_read"},
	{"write", "syscalls:sys_enter_write"},
	{"sendto", "syscalls:sys_enter_sendto"},
	{"readv", "syscalls:sys_enter_readv"},
	{"writev", "syscalls:sys_enter_writev"},
	{"epoll_wait", "syscalls:sys_enter_epoll_wait"},
	{"epoll_pwait", "syscalls:sys_enter_epoll_pwait"},
	{"futex", "syscalls:sys_enter_futex"},
	{"nanosleep", "syscalls:sys_enter_nanosleep"},
}

// syscalls runs scenario 5: system calls per echoed message at 1,000
// connections, counted by perf on the kernel's syscall tracepoints while
// the load runs (the window starts a second in, after every connection is
// open, and ends a second before the load does).
func (r *runner) syscalls() {
	if !r.have("syscalls", "perf") {
		return
	}
	if out, err := exec.Command("perf", "stat", "-e", "raw_syscalls:sys_enter", "--", "true").CombinedOutput(); err != nil {
		r.skip("syscalls", fmt.Sprintf("perf cannot count syscall tracepoints here (%v): %s", err, strings.TrimSpace(string(out))))
		return
	}
	impls, err := r.implsOf("echo")
	if err != nil {
		r.skip("syscalls", err.Error())
		return
	}
	window := 3 * time.Second
	if r.opts.quick {
		window = time.Second
	}
	for i, impl := range impls {
		row := r.syscallsOnce(impl, window)
		r.report.Syscalls = append(r.report.Syscalls, row)
		r.say("[syscalls %d/%d] %-8s %s", i+1, len(impls), impl, row.summary())
		if r.ctx.Err() != nil {
			return
		}
	}
}

func (r *runner) syscallsOnce(impl string, window time.Duration) SyscallRow {
	row := SyscallRow{Impl: impl, PerMsg: map[string]float64{}}
	srv, err := r.startServer([]string{filepath.Join(r.bin, "server"), "-kind", "echo", "-impl", impl, "-addr", "127.0.0.1:0"}, 0)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer srv.stop()
	d := window + 2*time.Second
	args := []string{"-addr", srv.addr, "-conns", strconv.Itoa(syscallConns), "-size", strconv.Itoa(syscallSize),
		"-pipeline", "1", "-duration", d.String()}
	r.command("syscalls", r.pinned(r.cliCPUs, "echoload", args...)...)
	line := r.pinned(r.cliCPUs, filepath.Join(r.bin, "echoload"), args...)
	load := exec.CommandContext(r.ctx, line[0], line[1:]...)
	var loadOut bytes.Buffer
	loadErr := &tailBuffer{max: 4 << 10}
	load.Stdout, load.Stderr = &loadOut, loadErr
	if err := load.Start(); err != nil {
		row.Err = err.Error()
		return row
	}
	// The load client opens its connections before its clock starts; a
	// second after that the server is in steady state. The client counts
	// the messages of the window exactly: SIGUSR1 at each end makes it
	// print how many it has verified.
	time.Sleep(time.Second)
	events := make([]string, len(syscallEvents))
	for i, e := range syscallEvents {
		events[i] = e.event
	}
	// perf counts while its command runs; the command marks both ends of
	// the window in the load client's count, so the two match.
	secs := strconv.FormatFloat(window.Seconds(), 'f', -1, 64)
	mark := func(pid string) string {
		return fmt.Sprintf("kill -USR1 %s; sleep %s; kill -USR1 %s", pid, secs, pid)
	}
	perfArgs := []string{"stat", "-x", ",", "-e", strings.Join(events, ","), "-p", strconv.Itoa(srv.pid()), "--", "sh", "-c", mark(strconv.Itoa(load.Process.Pid))}
	shown := slices.Clone(perfArgs)
	shown[slices.Index(shown, "-p")+1] = "$SERVER_PID"
	shown[len(shown)-1] = "'" + mark("$LOAD_PID") + "'"
	r.command("syscalls", append([]string{"perf"}, shown...)...)
	perfOut, perfErr := exec.CommandContext(r.ctx, "perf", perfArgs...).CombinedOutput()
	if err := load.Wait(); err != nil {
		row.Err = fmt.Sprintf("echoload: %v; stderr: %s", err, loadErr)
		return row
	}
	ld := struct{ out string }{loadOut.String()}
	if perfErr != nil {
		row.Err = fmt.Sprintf("perf stat: %v: %s", perfErr, strings.TrimSpace(string(perfOut)))
		return row
	}
	if _, err := parseEchoLoad(ld.out); err != nil {
		row.Err = err.Error()
		return row
	}
	counts, err := parsePerfCSV(string(perfOut))
	if err != nil {
		row.Err = err.Error()
		return row
	}
	if row.Msgs, err = progressWindow(ld.out); err != nil {
		row.Err = err.Error()
		return row
	}
	if row.Msgs <= 0 {
		row.Err = "no message was echoed"
		return row
	}
	for _, e := range syscallEvents {
		row.PerMsg[e.col] = counts[e.event] / row.Msgs
	}
	return row
}

// parsePerfCSV reads perf stat -x , output: one line per event,
// "count,unit,event,...". Events perf could not count ("<not
// supported>", "<not counted>") are left out.
func parsePerfCSV(out string) (map[string]float64, error) {
	counts := map[string]float64{}
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		counts[f[2]] = n
	}
	if _, ok := counts["raw_syscalls:sys_enter"]; !ok {
		return nil, fmt.Errorf("perf stat counted no system calls: %s", strings.TrimSpace(out))
	}
	return counts, nil
}

// progressWindow reads the two "progress msgs=N" lines echoload printed
// at the ends of the counting window and returns the messages between.
func progressWindow(out string) (float64, error) {
	var marks []float64
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "progress msgs="); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("echoload printed %q", line)
			}
			marks = append(marks, n)
		}
	}
	if len(marks) != 2 {
		return 0, fmt.Errorf("echoload printed %d progress lines, want 2: %s", len(marks), strings.TrimSpace(out))
	}
	return marks[1] - marks[0], nil
}
