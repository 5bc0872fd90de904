package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// soakOf returns a soak whose one server has the given samples, all taken
// under load, and counts.
func soakOf(samples []Sample, requests, lost uint64) *soak {
	s := &serverRun{name: "echo", samples: samples}
	s.stats.requests.Store(requests)
	s.stats.lost.Store(lost)
	return &soak{out: io.Discard, servers: []*serverRun{s}}
}

// flatSamples returns n samples under load of a server that does not leak.
func flatSamples(n int) []Sample {
	smps := make([]Sample, n)
	for i := range smps {
		smps[i] = Sample{T: float64(i), Phase: phaseSoak, RSS: 20 << 20, FDs: 80 + i%3, Goroutines: 8}
	}
	return smps
}

func TestReportPassesACleanSoak(t *testing.T) {
	rep := soakOf(flatSamples(30), 1000, 0).report()
	if !rep.Pass || len(rep.Failures) != 0 {
		t.Fatalf("a soak with nothing lost and nothing growing failed: %q", rep.Failures)
	}
	if g := rep.Servers[0].Growth; len(g) != 3 || g["fds"].Middle != 82 {
		t.Fatalf("growth verdicts %+v, want rss, fds and goroutines, fds' middle peak 82", g)
	}
}

func TestReportFailsALostRequest(t *testing.T) {
	rep := soakOf(flatSamples(30), 1000, 1).report()
	if rep.Pass || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "1 requests lost") {
		t.Fatalf("one request lost: pass=%v, failures %q", rep.Pass, rep.Failures)
	}
}

func TestReportFailsGrowthInTheSoakPhaseOnly(t *testing.T) {
	smps := flatSamples(30)
	for i := range smps {
		smps[i].Goroutines = 8 + 2*i // 58 more by the end
	}
	rep := soakOf(smps, 1000, 0).report()
	if rep.Pass || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "goroutines grew") {
		t.Fatalf("goroutines growing: pass=%v, failures %q", rep.Pass, rep.Failures)
	}

	// The same climb during the warm-up, before the soak phase, is no
	// failure.
	for i := range smps {
		if i < 10 {
			smps[i].Phase = phaseWarmup
		} else {
			smps[i].Goroutines = 26
		}
	}
	rep = soakOf(smps, 1000, 0).report()
	if !rep.Pass {
		t.Fatalf("growth in the warm-up only: failures %q", rep.Failures)
	}
}

func TestReportFailsTooShortASoak(t *testing.T) {
	rep := soakOf(flatSamples(minGrowthSamples-1), 1000, 0).report()
	if rep.Pass || !strings.Contains(strings.Join(rep.Failures, " "), "too few to judge") {
		t.Fatalf("%d samples: pass=%v, failures %q", minGrowthSamples-1, rep.Pass, rep.Failures)
	}
}

// TestSoakOfTheExamples builds examples/echo and examples/kv and soaks
// them for a few seconds: the whole course, at a small scale.
func TestSoakOfTheExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example servers")
	}
	cfg := config{
		Duration:      5 * time.Second,
		Warmup:        time.Second,
		Interval:      200 * time.Millisecond,
		SteadyConns:   8,
		ChurnWorkers:  2,
		OpTimeout:     10 * time.Second,
		SettleTimeout: 10 * time.Second,
		Seed:          uint64(time.Now().UnixNano()),
	}
	var progress bytes.Buffer
	start := time.Now()
	rep, err := run(context.Background(), cfg, &progress, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the soak took %v:\n%s", time.Since(start), progress.String())
	if !rep.Pass {
		t.Fatalf("the soak failed: %q\n%s", rep.Failures, progress.String())
	}
	for _, s := range rep.Servers {
		if s.Lost != 0 || s.DialFailures != 0 {
			t.Errorf("%s: %d lost, %d dials failed", s.Name, s.Lost, s.DialFailures)
		}
		// Thousands a second on any machine; a hundred is a server that
		// barely answers.
		if s.Requests < 1000 || s.Conns < 100 {
			t.Errorf("%s: %d requests on %d connections in %v", s.Name, s.Requests, s.Conns, cfg.Duration+cfg.Warmup)
		}
		for style, n := range s.ChurnStyles {
			if n == 0 {
				t.Errorf("%s: no churn connection ended %s", s.Name, style)
			}
		}
		if s.End.FDs > s.Baseline.FDs+fdMargin || s.End.Goroutines > s.Baseline.Goroutines+goroutineMargin {
			t.Errorf("%s: %d descriptors and %d goroutines at the end, %d and %d at the baseline",
				s.Name, s.End.FDs, s.End.Goroutines, s.Baseline.FDs, s.Baseline.Goroutines)
		}
		if s.PeakFDs < s.Baseline.FDs+cfg.SteadyConns {
			t.Errorf("%s: at most %d descriptors, but %d steady connections on a baseline of %d", s.Name, s.PeakFDs, cfg.SteadyConns, s.Baseline.FDs)
		}
		soakSamples := 0
		for i, smp := range s.Samples {
			if i > 0 && smp.T < s.Samples[i-1].T {
				t.Fatalf("%s: samples out of time order at %d", s.Name, i)
			}
			if smp.Phase == phaseSoak {
				soakSamples++
			}
		}
		if soakSamples < 15 {
			t.Errorf("%s: %d samples in a soak phase of %v sampled every %v", s.Name, soakSamples, cfg.Duration, cfg.Interval)
		}
	}
	var phases []string
	for _, m := range rep.Phases {
		phases = append(phases, m.Phase)
	}
	if got, want := strings.Join(phases, " "), "start warm-up baseline soak settle end"; got != want {
		t.Fatalf("phases %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := writeChart(&b, rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
}
