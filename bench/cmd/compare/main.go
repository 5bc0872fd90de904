// Command compare runs every side-by-side measurement in bench and writes
// the results: a table per scenario in results/RESULTS.md, the figures in
// results/results.json and a chart of throughput in results/chart.svg.
//
//	cd bench && go run ./cmd/compare          # everything, about 15 minutes
//	cd bench && go run ./cmd/compare -quick   # the same scenarios, shorter, under 5 minutes
//
// The scenarios:
//
//  1. echo ping-pong, 64 B and 1 KiB messages, at 50, 1,000 and 5,000
//     connections, every echo server measured by bench's load client;
//  2. RESP: redis-benchmark -t ping,set,get at 50 and 1,000 connections,
//     pipelined 1 and 16, against every RESP server, metal's examples/kv
//     and redis-server;
//  3. HTTP plaintext: wrk -c 256, pipelined 16 and not, against every
//     HTTP server and nginx;
//  4. idle memory: the server's resident memory per connection with
//     10,000 connections that each echoed one message, after a collection;
//  5. system calls per echoed message at 1,000 connections (perf stat on
//     the syscall tracepoints), against the floor of one read and one
//     write;
//  6. the scheduler and timer micro-benchmarks of metal's runtime package,
//     each beside its plain-Go alternative.
//
// Servers run on the first half of the CPUs and the load generators on
// the other half (taskset), with GOMAXPROCS set to the server's share; on
// a 2-core machine that is one core each. compare builds every binary
// itself, says which Debian packages are missing (and skips only what
// needs them), prints each step as it goes, and records the machine, the
// Go version and the exact commands in RESULTS.md.
//
// -only echo,resp,... runs some scenarios; -impls metal,std,... some
// implementations; -out DIR writes elsewhere. -rewrite measures nothing:
// it writes RESULTS.md and chart.svg again from results.json.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// scenarioNames are the -only values, in the order they run.
var scenarioNames = []string{"echo", "resp", "http", "idle", "syscalls", "micro"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("compare: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

// options are the command's flags.
type options struct {
	quick   bool
	rewrite bool
	out     string
	only    []string
	impls   []string
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var o options
	var only, impls string
	fs.BoolVar(&o.quick, "quick", false, "shorter runs and fewer requests, under 5 minutes in all")
	fs.BoolVar(&o.rewrite, "rewrite", false, "measure nothing: write RESULTS.md and chart.svg again from results.json")
	fs.StringVar(&o.out, "out", "", "directory for RESULTS.md, results.json and chart.svg (default: results/ in the bench module)")
	fs.StringVar(&only, "only", "", "comma-separated scenarios to run: "+strings.Join(scenarioNames, ","))
	fs.StringVar(&impls, "impls", "", "comma-separated implementations to run (default: all); anchors are redis and nginx, metal's examples kv")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o.only = splitList(only)
	for _, s := range o.only {
		if !slices.Contains(scenarioNames, s) {
			return o, fmt.Errorf("-only: unknown scenario %q (have: %s)", s, strings.Join(scenarioNames, ","))
		}
	}
	if len(o.only) == 0 {
		o.only = scenarioNames
	}
	o.impls = splitList(impls)
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	r, err := newRunner(ctx, o)
	if err != nil {
		return err
	}
	defer r.cleanup()
	if o.rewrite {
		return r.rewrite()
	}
	start := time.Now()
	r.say("machine: %s", r.report.Machine.Summary())
	r.checkTools()
	if err := r.build(); err != nil {
		return err
	}
	for _, name := range o.only {
		if ctx.Err() != nil {
			break
		}
		r.say("== scenario %s", name)
		switch name {
		case "echo":
			r.echo()
		case "resp":
			r.resp()
		case "http":
			r.http()
		case "idle":
			r.idle()
		case "syscalls":
			r.syscalls()
		case "micro":
			r.micro()
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; nothing written: %w", ctx.Err())
	}
	r.report.Took = time.Since(start).Round(time.Second).String()
	if err := r.write(); err != nil {
		return err
	}
	r.say("done in %s: %s", r.report.Took, filepath.Join(r.out, "RESULTS.md"))
	if len(r.report.Skipped) > 0 {
		r.say("skipped (see RESULTS.md):")
		for _, s := range r.report.Skipped {
			r.say("  %s", s)
		}
	}
	return nil
}
