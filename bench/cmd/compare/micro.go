package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// microBenchmarks is scenario 6: metal's runtime benchmarks, each of which
// runs metal and its plain-Go alternative side by side as sub-benchmarks.
const microBenchmarks = `^Benchmark(SpawnManyRemote|SpawnManyLocal|YieldMany|ChainedSpawn|PingPong|Timeouts|TimerLateness)$`

// micro runs scenario 6 in metal's module, on the server CPUs, and keeps
// the median of each figure.
func (r *runner) micro() {
	count, benchtime := "5", "1s"
	if r.opts.quick {
		count, benchtime = "3", "200ms"
	}
	args := []string{"go", "test", "-run", "^$", "-bench", microBenchmarks, "-benchmem",
		"-count", count, "-benchtime", benchtime, "./runtime/"}
	line := r.pinned(r.srvCPUs+","+r.cliCPUs, args[0], args[1:]...)
	r.command("micro (in metal's module)", line...)
	r.say("[micro] %s", strings.Join(line, " "))
	cmd := exec.CommandContext(r.ctx, line[0], line[1:]...)
	cmd.Dir = r.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.skip("micro", fmt.Sprintf("go test: %v: %s", err, lastLines(string(out), 10)))
		return
	}
	rows, err := parseBenchmarks(string(out))
	if err != nil {
		r.skip("micro", err.Error())
		return
	}
	r.report.Micro = rows
	for _, row := range rows {
		r.say("[micro] %s", row.summary())
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// parseBenchmarks reads go test -bench output, groups the runs of each
// benchmark and returns, per benchmark, the median of every figure.
// Lines look like
//
//	BenchmarkTimeouts/metal/workers=1-2   100   99.1 ns/op   0 B/op   0 allocs/op
//
// where -2 is GOMAXPROCS.
func parseBenchmarks(out string) ([]MicroRow, error) {
	samples := map[string]map[string][]float64{} // name → unit → values
	var order []string
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		name = strings.TrimPrefix(name, "Benchmark")
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", line, err)
			}
			samples[name][f[i+1]] = append(samples[name][f[i+1]], v)
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no benchmark ran: %s", lastLines(out, 10))
	}
	rows := make([]MicroRow, 0, len(order))
	for _, name := range order {
		row := MicroRow{Name: name, Median: map[string]float64{}}
		for unit, vs := range samples[name] {
			row.Median[unit] = median(vs)
			row.Runs = max(row.Runs, len(vs))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// microGroup splits a sub-benchmark's name into its benchmark, its
// implementation and the rest: "Timeouts/AfterFunc/goroutines=2" is
// ("Timeouts", "AfterFunc", "2"), with workers= and goroutines= both read
// as the parallelism that pairs metal with its alternative.
func microGroup(name string) (bench, impl, param string) {
	parts := strings.SplitN(name, "/", 3)
	bench = parts[0]
	if len(parts) > 1 {
		impl = parts[1]
	}
	if len(parts) > 2 {
		param = parts[2]
		if _, v, ok := strings.Cut(param, "="); ok {
			param = v
		}
	}
	return bench, impl, param
}

// microDuration formats nanoseconds for a table.
func microDuration(ns float64) string {
	return time.Duration(ns).Round(time.Duration(max(1, ns/1000))).String()
}
