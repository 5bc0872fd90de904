package main

// This file is the soak's report: what -out writes as JSON, and the
// summary printed at the end.

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// report is everything one soak found.
type report struct {
	Pass     bool           `json:"pass"`
	Failures []string       `json:"failures"` // why it failed; empty if it passed
	Config   reportConfig   `json:"config"`
	Phases   []phaseMark    `json:"phases"` // when each phase began
	Servers  []serverReport `json:"servers"`
}

// reportConfig is the config, durations written out.
type reportConfig struct {
	Duration      string `json:"duration"`
	Warmup        string `json:"warmup"`
	Interval      string `json:"interval"`
	SteadyConns   int    `json:"steady_conns"`
	ChurnWorkers  int    `json:"churn_workers"`
	OpTimeout     string `json:"op_timeout"`
	SettleTimeout string `json:"settle_timeout"`
	Seed          uint64 `json:"seed"`
}

// phaseMark says when a phase began, in seconds since the start.
type phaseMark struct {
	Phase string  `json:"phase"`
	T     float64 `json:"t"`
}

// serverReport is one server's part of the report.
type serverReport struct {
	Name           string            `json:"name"`
	Args           []string          `json:"args,omitempty"`   // flags beyond -addr and -debug
	Requests       uint64            `json:"requests"`         // verified, over the whole run
	Lost           uint64            `json:"lost"`             // failed or wrong
	Conns          uint64            `json:"conns"`            // opened, over the whole run
	DialFailures   uint64            `json:"dial_failures"`    // connection attempts that failed
	ChurnStyles    map[string]uint64 `json:"churn_styles"`     // churn connections by how they ended
	Errors         []string          `json:"errors,omitempty"` // the first few errors
	Start          Sample            `json:"start"`            // idle, just started
	Baseline       Sample            `json:"baseline"`         // idle, after the warm-up
	End            Sample            `json:"end"`              // idle, after the soak, settled
	PeakRSS        int64             `json:"peak_rss_bytes"`   // over every sample
	PeakFDs        int               `json:"peak_fds"`         // over every sample
	PeakGoroutines int               `json:"peak_goroutines"`  // over every sample
	Growth         map[string]growth `json:"growth"`           // the soak phase's verdicts, by series
	Samples        []Sample          `json:"samples"`          // in time order
}

// title is the chart's title: what ran, for how long, and the verdict.
func (r *report) title() string {
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	return fmt.Sprintf("metal soak: %s of churn and steady traffic against examples/echo and examples/kv, %s",
		r.Config.Duration, verdict)
}

// phaseSpan returns when phase began and the next phase did.
func (r *report) phaseSpan(phase string) (from, to float64, ok bool) {
	for i, m := range r.Phases {
		if m.Phase == phase && i+1 < len(r.Phases) {
			return m.T, r.Phases[i+1].T, true
		}
	}
	return 0, 0, false
}

// writeJSON writes the report as indented JSON.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeSummary writes the report for a reader: per server, the load it
// took and its resources at start, after the warm-up, at their peak and at
// the end; then the verdict.
func (r *report) writeSummary(w io.Writer) {
	const mib = 1 << 20
	fmt.Fprintln(w)
	for _, s := range r.Servers {
		var styles []string
		for i := range numChurnStyles {
			styles = append(styles, fmt.Sprintf("%s %d", i, s.ChurnStyles[i.String()]))
		}
		fmt.Fprintf(w, "%s: %d requests verified, %d lost; %d connections opened, %d failed to open\n",
			s.Name, s.Requests, s.Lost, s.Conns, s.DialFailures)
		fmt.Fprintf(w, "  churn: %s\n", strings.Join(styles, ", "))
		fmt.Fprintf(w, "  %-12s %10s %10s %10s %10s   %s\n", "", "start", "baseline", "peak", "end", "soak growth (middle third max -> last third max, limit)")
		row := func(name string, start, base, peak, end float64, format string, g growth) {
			f := func(v float64) string { return fmt.Sprintf(format, v) }
			fmt.Fprintf(w, "  %-12s %10s %10s %10s %10s   %s -> %s, %s\n", name, f(start), f(base), f(peak), f(end), f(g.Middle), f(g.Last), f(g.Limit))
		}
		row("RSS MiB", float64(s.Start.RSS)/mib, float64(s.Baseline.RSS)/mib, float64(s.PeakRSS)/mib, float64(s.End.RSS)/mib, "%.1f",
			scaleGrowth(s.Growth["rss"], 1.0/mib))
		row("fds", float64(s.Start.FDs), float64(s.Baseline.FDs), float64(s.PeakFDs), float64(s.End.FDs), "%.0f", s.Growth["fds"])
		row("goroutines", float64(s.Start.Goroutines), float64(s.Baseline.Goroutines), float64(s.PeakGoroutines), float64(s.End.Goroutines), "%.0f", s.Growth["goroutines"])
	}
	if r.Pass {
		fmt.Fprintln(w, "PASS")
		return
	}
	fmt.Fprintln(w, "FAIL:")
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  %s\n", f)
	}
}

// scaleGrowth returns g with its values multiplied by k, for printing.
func scaleGrowth(g growth, k float64) growth {
	g.Middle *= k
	g.Last *= k
	g.Limit *= k
	return g
}
