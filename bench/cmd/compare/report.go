package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
)

// Report is everything one run measured; results.json holds it as is.
type Report struct {
	Date      string
	Took      string
	Quick     bool
	Machine   Machine
	Placement string
	Echo      []EchoRow
	Resp      []RespRow
	HTTP      []HTTPRow
	Idle      []IdleRow
	Syscalls  []SyscallRow
	Micro     []MicroRow
	Commands  []string
	Skipped   []string
}

// Machine describes where the run was made.
type Machine struct {
	CPU    string
	CPUs   int
	MemGiB float64
	Kernel string
	Go     string
	Commit string
}

// Summary is the machine on one line.
func (m Machine) Summary() string {
	return fmt.Sprintf("%s, %d CPUs, %.0f GiB, Linux %s, %s, metal %s", m.CPU, m.CPUs, m.MemGiB, m.Kernel, m.Go, m.Commit)
}

func readMachine(ctx context.Context, root string) Machine {
	m := Machine{CPUs: goruntime.NumCPU(), CPU: "unknown CPU", Kernel: "?", Go: goruntime.Version(), Commit: "?"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) == 2 {
					kb, _ := strconv.ParseFloat(f[0], 64)
					m.MemGiB = kb / (1 << 20)
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m.Go = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// EchoRow is one echo measurement.
type EchoRow struct {
	Impl        string
	Size, Conns int
	MsgsPerSec  float64
	P50us       float64
	P99us       float64
	P999us      float64
	ServerCPUus float64 // the server's CPU time per echoed message
	Err         string  `json:",omitempty"`
}

func (e EchoRow) summary() string {
	if e.Err != "" {
		return "FAILED: " + e.Err
	}
	return fmt.Sprintf("%s msgs/s, p50 %s, p99 %s, server CPU %.2f µs/msg",
		count(e.MsgsPerSec), us(e.P50us), us(e.P99us), e.ServerCPUus)
}

// RespRow is one redis-benchmark run: every test's rate.
type RespRow struct {
	Impl            string
	Conns, Pipeline int
	RPS             map[string]float64 // per test, requests a second
	P50ms           map[string]float64
	ServerCPUus     float64 // the server's CPU time per request, every test
	Err             string  `json:",omitempty"`
}

func (e RespRow) summary() string {
	if e.Err != "" {
		return "FAILED: " + e.Err
	}
	parts := make([]string, 0, len(respTests))
	for _, t := range respTests {
		parts = append(parts, fmt.Sprintf("%s %s", t, count(e.RPS[t])))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" req/s, server CPU %.2f µs/req", e.ServerCPUus)
}

// HTTPRow is one wrk run.
type HTTPRow struct {
	Impl            string
	Conns, Pipeline int
	RPS             float64
	P50ms, P99ms    float64
	ServerCPUus     float64 // the server's CPU time per request
	Err             string  `json:",omitempty"`
}

func (e HTTPRow) summary() string {
	if e.Err != "" {
		return "FAILED: " + e.Err
	}
	return fmt.Sprintf("%s req/s, p50 %s, p99 %s, server CPU %.2f µs/req", count(e.RPS), us(e.P50ms*1e3), us(e.P99ms*1e3), e.ServerCPUus)
}

// IdleRow is one idle-memory measurement.
type IdleRow struct {
	Impl                string
	Conns               int
	RSSBefore, RSSAfter int64 // bytes, after a collection each
	PerConn             float64
	Err                 string `json:",omitempty"`
}

func (e IdleRow) summary() string {
	if e.Err != "" {
		return "FAILED: " + e.Err
	}
	return fmt.Sprintf("RSS %s → %s with %d connections: %.0f B per connection",
		mib(e.RSSBefore), mib(e.RSSAfter), e.Conns, e.PerConn)
}

// SyscallRow is one count of system calls per echoed message.
type SyscallRow struct {
	Impl   string
	Msgs   float64            // messages echoed in the counting window
	PerMsg map[string]float64 // by syscallEvents column
	Err    string             `json:",omitempty"`
}

func (e SyscallRow) summary() string {
	if e.Err != "" {
		return "FAILED: " + e.Err
	}
	return fmt.Sprintf("%.2f system calls per message (read %.2f, write %.2f, epoll %.3f, futex %.3f, nanosleep %.3f)",
		e.PerMsg["all"], e.PerMsg["read"]+e.PerMsg["readv"], e.PerMsg["write"]+e.PerMsg["writev"]+e.PerMsg["sendto"],
		e.PerMsg["epoll_wait"]+e.PerMsg["epoll_pwait"], e.PerMsg["futex"], e.PerMsg["nanosleep"])
}

// MicroRow is one sub-benchmark's medians, by unit (ns/op, B/op,
// allocs/op and any the benchmark reports).
type MicroRow struct {
	Name   string
	Runs   int
	Median map[string]float64
}

func (e MicroRow) summary() string {
	return fmt.Sprintf("%-40s %s/op %.0f allocs/op", e.Name, microDuration(e.Median["ns/op"]), e.Median["allocs/op"])
}

// count formats a rate: 63.1k, 1.24M.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// us formats microseconds; zero, which wrk prints for a percentile it did
// not sample, is shown as a dash.
func us(v float64) string {
	if v == 0 {
		return "–"
	}
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// rewrite reads results.json and writes RESULTS.md and chart.svg from it.
func (r *runner) rewrite() error {
	b, err := os.ReadFile(filepath.Join(r.out, "results.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, r.report); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	return r.write()
}

// write writes results.json, RESULTS.md and chart.svg.
func (r *runner) write() error {
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r.report, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.json": append(js, '\n'),
		"RESULTS.md":   []byte(markdown(r.report)),
		"chart.svg":    []byte(chart(r.report)),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(r.out, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
