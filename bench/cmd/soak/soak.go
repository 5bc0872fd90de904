package main

// This file is the soak's course: the phases, the sampler that watches
// both servers throughout, the checks, and the report.
//
//	start     both servers up and idle: the first sample
//	warm-up   steady traffic alone, on the long-lived connections
//	baseline  those connections closed; once the servers' descriptors are
//	          back where they started, the baseline sample
//	soak      churn and steady traffic together, for the duration
//	settle    load stopped, every connection closed; wait until
//	          descriptors and goroutines are back to the baseline, or
//	          settleTimeout passes
//	end       the last sample; then SIGTERM, and each server must exit 0
//
// The baseline is taken after a warm-up, not at start, so that whatever a
// server builds once and keeps (a worker's buffers, a lazily started
// goroutine) is in it; what the soak phase adds and keeps is not.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The phases, as samples are labelled.
const (
	phaseStart    = "start"
	phaseWarmup   = "warm-up"
	phaseBaseline = "baseline"
	phaseSoak     = "soak"
	phaseSettle   = "settle"
	phaseEnd      = "end"
)

const (
	// fdMargin and goroutineMargin are how far above the baseline a
	// server's descriptors and goroutines may still be once it has
	// settled. A server that releases everything is back at the baseline
	// exactly; the margin only forgives a straggler, such as a
	// connection to the debug endpoint that is being replaced.
	fdMargin        = 4
	goroutineMargin = 8
	// settlePoll is how often a settling server is looked at.
	settlePoll = 100 * time.Millisecond
)

// config is one soak's settings.
type config struct {
	Duration      time.Duration // the soak phase
	Warmup        time.Duration // the warm-up phase
	Interval      time.Duration // between samples
	SteadyConns   int           // long-lived connections per server
	ChurnWorkers  int           // churn workers per server
	OpTimeout     time.Duration // bounds each exchange
	SettleTimeout time.Duration // the most a server gets to release everything
	EchoArgs      []string      // more flags for examples/echo
	KVArgs        []string      // more flags for examples/kv
	Seed          uint64        // of the payloads
}

// serverRun is one server under soak.
type serverRun struct {
	name  string
	args  []string
	proto protocol
	proc  *process
	stats stats

	mu       sync.Mutex
	samples  []Sample
	start    Sample
	baseline Sample
	end      Sample
}

// look samples the server, adds the soak's counts, and labels the sample
// with the time since t0 and phase, without recording it.
func (s *serverRun) look(t0 time.Time, phase string) (Sample, error) {
	smp, err := s.proc.sample()
	if err != nil {
		return smp, err
	}
	smp.T = time.Since(t0).Seconds()
	smp.Phase = phase
	smp.Requests = s.stats.requests.Load()
	smp.Conns = s.stats.conns.Load()
	smp.Lost = s.stats.lost.Load()
	return smp, nil
}

// keep records smp in the server's series.
func (s *serverRun) keep(smp Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, smp)
}

// settle looks at the server every settlePoll until settled says it has
// settled or timeout passes, and records and returns the last sample.
func (s *serverRun) settle(t0 time.Time, phase string, timeout time.Duration, settled func(Sample) bool) (Sample, bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		smp, err := s.look(t0, phase)
		if err != nil {
			return smp, false, err
		}
		ok := settled(smp)
		if ok || time.Now().After(deadline) {
			s.keep(smp)
			return smp, ok, nil
		}
		time.Sleep(settlePoll)
	}
}

// soak is one run in progress.
type soak struct {
	cfg     config
	out     io.Writer // progress
	t0      time.Time
	servers []*serverRun
	phase   atomic.Pointer[string]

	mu       sync.Mutex
	failures []string
	phases   []phaseMark
}

// fail records a reason the soak fails, and prints it.
func (k *soak) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	k.mu.Lock()
	k.failures = append(k.failures, msg)
	k.mu.Unlock()
	fmt.Fprintf(k.out, "FAIL: %s\n", msg)
}

// enter begins phase.
func (k *soak) enter(phase string) {
	k.phase.Store(&phase)
	k.mu.Lock()
	k.phases = append(k.phases, phaseMark{Phase: phase, T: time.Since(k.t0).Seconds()})
	k.mu.Unlock()
}

// run builds and starts the servers, takes them through the phases and
// returns the report. Its error is for a soak that could not be set up
// (a failed build, a server that would not start); a soak that ran and
// found fault returns a report whose Failures say what. If ctx is done
// early the load stops, the servers are still settled and checked, and
// the report fails as interrupted.
func run(ctx context.Context, cfg config, out, logs io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(out, "building examples/echo and examples/kv")
	bins, err := buildExamples(ctx, dir)
	if err != nil {
		return nil, err
	}

	// The sampler and the phases both print: one line at a time.
	k := &soak{cfg: cfg, out: &lockedWriter{w: out}}
	k.servers = []*serverRun{
		{name: "echo", args: cfg.EchoArgs, proto: echoProto{}},
		{name: "kv", args: cfg.KVArgs, proto: kvProto{}},
	}
	for _, s := range k.servers {
		s.proc, err = startProcess(s.name, bins[s.name], s.args, logs)
		if err != nil {
			return nil, err
		}
		defer s.proc.kill()
		fmt.Fprintf(k.out, "%s: serving %s, pid %d, vars %s\n", s.name, s.proc.addr, s.proc.pid(), s.proc.vars)
	}

	k.t0 = time.Now()
	k.enter(phaseStart)
	for _, s := range k.servers {
		if s.start, err = s.look(k.t0, phaseStart); err != nil {
			return nil, err
		}
		s.keep(s.start)
	}
	k.printSample(phaseStart, k.starts())

	samplerDone := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() { k.sample(samplerDone) })

	k.enter(phaseWarmup)
	fmt.Fprintf(k.out, "warm-up: %d steady connections per server for %v\n", cfg.SteadyConns, cfg.Warmup)
	k.load(ctx, cfg.Warmup, false, cfg.Seed, phaseBaseline)
	for i, r := range k.settleAll(phaseBaseline, func(s *serverRun, smp Sample) bool {
		return smp.FDs <= s.start.FDs+fdMargin
	}) {
		s := k.servers[i]
		s.baseline = r.last
		if !r.settled {
			k.fail("%s: %v after the warm-up, %d descriptors open, %d at start (+%d allowed)",
				s.name, cfg.SettleTimeout, r.last.FDs, s.start.FDs, fdMargin)
		}
	}
	k.printSample(phaseBaseline, k.baselines())

	if ctx.Err() == nil {
		k.enter(phaseSoak)
		fmt.Fprintf(k.out, "soak: %d steady connections and %d churn workers per server for %v\n", cfg.SteadyConns, cfg.ChurnWorkers, cfg.Duration)
		k.load(ctx, cfg.Duration, true, cfg.Seed+1, phaseSettle)
	} else {
		k.enter(phaseSettle)
	}
	fmt.Fprintln(k.out, "settle: load stopped, waiting for descriptors and goroutines to return to the baseline")
	for i, r := range k.settleAll(phaseEnd, func(s *serverRun, smp Sample) bool {
		return smp.FDs <= s.baseline.FDs+fdMargin && smp.Goroutines <= s.baseline.Goroutines+goroutineMargin
	}) {
		s := k.servers[i]
		s.end = r.last
		if !r.settled {
			k.fail("%s: %v after the load stopped, %d descriptors and %d goroutines, baseline %d and %d (+%d and +%d allowed): a leak",
				s.name, cfg.SettleTimeout, r.last.FDs, r.last.Goroutines, s.baseline.FDs, s.baseline.Goroutines, fdMargin, goroutineMargin)
		}
	}
	k.enter(phaseEnd)
	close(samplerDone)
	sampler.Wait()
	k.printSample(phaseEnd, k.ends())

	for _, s := range k.servers {
		if err := s.proc.stop(); err != nil {
			k.fail("%v", err)
		}
	}
	if err := ctx.Err(); err != nil {
		k.fail("interrupted after %.0fs: %v", time.Since(k.t0).Seconds(), err)
	}
	return k.report(), nil
}

// load puts the load on every server at once for d, or until ctx is done:
// steady traffic, and churn if churn is set. It enters phase next the
// moment the load begins to stop, so that no sample taken while the
// workers hang up is counted as under load.
func (k *soak) load(ctx context.Context, d time.Duration, churn bool, seed uint64, next string) {
	ctx, cancel := context.WithTimeout(ctx, d)
	entered := make(chan struct{})
	go func() {
		<-ctx.Done()
		k.enter(next)
		close(entered)
	}()
	defer func() {
		cancel()
		<-entered
	}()
	var wg sync.WaitGroup
	for _, s := range k.servers {
		t := traffic{
			proto:       s.proto,
			addr:        s.proc.addr,
			steadyConns: k.cfg.SteadyConns,
			opTimeout:   k.cfg.OpTimeout,
			seed:        seed,
		}
		if churn {
			t.churnWorkers = k.cfg.ChurnWorkers
		}
		wg.Go(func() { t.run(ctx, &s.stats) })
	}
	wg.Wait()
}

// settling is how a server's settling ended: its last sample, and
// whether it settled.
type settling struct {
	last    Sample
	settled bool
}

// settleAll settles every server at once, until settled says it has or
// the settle timeout passes, and returns how each ended, in the order of
// k.servers. The last samples are recorded with the label phase. A server
// that cannot be sampled fails the soak for that reason, and is reported
// as settled so that it does not fail it twice.
func (k *soak) settleAll(phase string, settled func(*serverRun, Sample) bool) []settling {
	out := make([]settling, len(k.servers))
	var wg sync.WaitGroup
	for i, s := range k.servers {
		wg.Go(func() {
			smp, ok, err := s.settle(k.t0, phase, k.cfg.SettleTimeout, func(smp Sample) bool { return settled(s, smp) })
			if err != nil {
				k.fail("%s: sampling: %v", s.name, err)
				ok = true
			}
			out[i] = settling{last: smp, settled: ok}
		})
	}
	wg.Wait()
	return out
}

// sample records a sample of every server each interval and prints them,
// until done is closed.
func (k *soak) sample(done <-chan struct{}) {
	tick := time.NewTicker(k.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		phase := *k.phase.Load()
		smps := make([]Sample, len(k.servers))
		for i, s := range k.servers {
			smp, err := s.look(k.t0, phase)
			if err != nil {
				k.fail("%s: sampling: %v", s.name, err)
			}
			smps[i] = smp
		}
		if *k.phase.Load() != phase {
			continue // the load began or ended while we looked: the label may be wrong
		}
		for i, s := range k.servers {
			if smps[i].Phase != "" {
				s.keep(smps[i])
			}
		}
		k.printSample(phase, smps)
	}
}

// printSample prints one line: the time, the phase and every server's
// sample.
func (k *soak) printSample(phase string, smps []Sample) {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.1fs %-8s", time.Since(k.t0).Seconds(), phase)
	for i, smp := range smps {
		if i > 0 {
			b.WriteString(" |")
		}
		fmt.Fprintf(&b, " %s rss=%.1fMiB fds=%d goroutines=%d requests=%d conns=%d lost=%d",
			k.servers[i].name, float64(smp.RSS)/(1<<20), smp.FDs, smp.Goroutines, smp.Requests, smp.Conns, smp.Lost)
	}
	fmt.Fprintln(k.out, b.String())
}

// starts, baselines and ends return every server's start, baseline and
// end sample.
func (k *soak) starts() []Sample    { return k.each(func(s *serverRun) Sample { return s.start }) }
func (k *soak) baselines() []Sample { return k.each(func(s *serverRun) Sample { return s.baseline }) }
func (k *soak) ends() []Sample      { return k.each(func(s *serverRun) Sample { return s.end }) }

// each returns f of every server.
func (k *soak) each(f func(*serverRun) Sample) []Sample {
	smps := make([]Sample, len(k.servers))
	for i, s := range k.servers {
		smps[i] = f(s)
	}
	return smps
}

// report checks what the soak counted and sampled, and assembles the
// report.
func (k *soak) report() *report {
	rep := &report{
		Config: reportConfig{
			Duration:      k.cfg.Duration.String(),
			Warmup:        k.cfg.Warmup.String(),
			Interval:      k.cfg.Interval.String(),
			SteadyConns:   k.cfg.SteadyConns,
			ChurnWorkers:  k.cfg.ChurnWorkers,
			OpTimeout:     k.cfg.OpTimeout.String(),
			SettleTimeout: k.cfg.SettleTimeout.String(),
			Seed:          k.cfg.Seed,
		},
		Phases: k.phases,
	}
	for _, s := range k.servers {
		// The sampler and a settling wait may have recorded out of turn.
		slices.SortStableFunc(s.samples, func(a, b Sample) int { return cmp.Compare(a.T, b.T) })
		sr := serverReport{
			Name:         s.name,
			Args:         s.args,
			Requests:     s.stats.requests.Load(),
			Lost:         s.stats.lost.Load(),
			Conns:        s.stats.conns.Load(),
			DialFailures: s.stats.dialFailures.Load(),
			ChurnStyles:  make(map[string]uint64),
			Errors:       s.stats.firstErrors(),
			Start:        s.start,
			Baseline:     s.baseline,
			End:          s.end,
			Growth:       make(map[string]growth),
			Samples:      s.samples,
		}
		for i := range numChurnStyles {
			sr.ChurnStyles[i.String()] = s.stats.styles[i].Load()
		}
		for _, smp := range s.samples {
			sr.PeakRSS = max(sr.PeakRSS, smp.RSS)
			sr.PeakFDs = max(sr.PeakFDs, smp.FDs)
			sr.PeakGoroutines = max(sr.PeakGoroutines, smp.Goroutines)
		}
		if sr.Lost > 0 {
			k.fail("%s: %d requests lost; the first errors: %s", s.name, sr.Lost, strings.Join(sr.Errors, "; "))
		}
		if sr.DialFailures > 0 {
			k.fail("%s: %d connection attempts failed; the first errors: %s", s.name, sr.DialFailures, strings.Join(sr.Errors, "; "))
		}
		if sr.Requests == 0 {
			k.fail("%s: no request was served", s.name)
		}
		k.judge(&sr)
		rep.Servers = append(rep.Servers, sr)
	}
	rep.Failures = slices.Clone(k.failures)
	rep.Pass = len(rep.Failures) == 0
	return rep
}

// judge judges the growth of sr's RSS, descriptors and goroutines over
// the soak phase.
func (k *soak) judge(sr *serverReport) {
	var soakSamples []Sample
	for _, smp := range sr.Samples {
		if smp.Phase == phaseSoak {
			soakSamples = append(soakSamples, smp)
		}
	}
	series := func(f func(Sample) float64) []float64 {
		xs := make([]float64, len(soakSamples))
		for i, smp := range soakSamples {
			xs[i] = f(smp)
		}
		return xs
	}
	for _, m := range []struct {
		name  string
		tol   tolerance
		value func(Sample) float64
	}{
		{"rss", rssTolerance, func(s Sample) float64 { return float64(s.RSS) }},
		{"fds", fdTolerance, func(s Sample) float64 { return float64(s.FDs) }},
		{"goroutines", goroutineTolerance, func(s Sample) float64 { return float64(s.Goroutines) }},
	} {
		g, ok := judgeGrowth(series(m.value), m.tol)
		if !ok {
			k.fail("%s: %d samples in the soak phase, too few to judge growth (%d needed): lengthen -duration or shorten -interval",
				sr.Name, len(soakSamples), minGrowthSamples)
			return
		}
		sr.Growth[m.name] = g
		if g.Grew {
			k.fail("%s: %s grew during the soak: the last third peaked at %.0f, the middle third at %.0f (limit %.0f)",
				sr.Name, m.name, g.Last, g.Middle, g.Limit)
		}
	}
}

// lockedWriter lets several goroutines write whole lines to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
