// Command soak runs metal's example servers, examples/echo and
// examples/kv, under connection churn and steady traffic for a bounded
// time, and fails if a request is lost or if the servers' memory, open
// descriptors or goroutines grow without bound. From the bench module:
//
//	go run ./cmd/soak                     # 10 minutes, a sample every 5 s
//	go run ./cmd/soak -short              # 1 minute, a sample every second
//	go run ./cmd/soak -out soak.json -svg ../docs/soak.svg
//
// It builds both examples from the repository around the bench module
// and starts each on a free loopback port with -debug, which serves
// expvar's /debug/vars. Against each server, at once:
//
//   - steady traffic: -conns long-lived connections, each making request
//     after request (echo: one to four messages of random bytes, read back
//     and compared; kv: SET of one of the connection's own keys to a fresh
//     value and GET of it, pipelined, the value compared);
//   - churn: -churn workers, each dialling, making a few exchanges and
//     hanging up, over and over. Half close politely; a tenth each end the
//     protocol's way (echo: half-close, read the rest to end of stream;
//     kv: QUIT), walk away with a request in flight, reset (SO_LINGER 0)
//     with a request in flight, reset with nothing in flight, or say
//     nothing at all.
//
// Every reply is checked. A request that fails, times out or comes back
// wrong is lost, unless it was on a connection the soak gave up on
// purpose; one lost request, or one failed dial, fails the soak.
//
// Every -interval it samples each server: resident memory (VmRSS in
// /proc/PID/status), open descriptors (/proc/PID/fd), goroutines (the
// "goroutines" expvar), with the requests and connections so far. The
// phases (soak.go) are a warm-up of steady traffic alone, a baseline
// sample once the warm-up's connections are closed, the soak of the given
// -duration, and a settling wait after it; then the checks:
//
//   - after the load stops, every server's descriptors and goroutines
//     must return to the baseline (within 4 and 8) in 30 seconds;
//   - over the soak phase, none of RSS, descriptors and goroutines may
//     grow: the last third's maximum may not exceed the middle third's
//     by more than 10% + 4 MiB (RSS) or 16 (descriptors, goroutines);
//     growth.go says why;
//   - each server exits with status 0 on SIGTERM.
//
// It prints a line per sample, a summary, and PASS or FAIL with the
// reasons; the exit status is 1 on failure, 2 if it could not run. -out
// writes the report and every sample as JSON, -svg a chart of RSS,
// descriptors and goroutines over time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// defaultConfig is the 10-minute soak; -short shortens it.
func defaultConfig() config {
	return config{
		Duration:      10 * time.Minute,
		Warmup:        30 * time.Second,
		Interval:      5 * time.Second,
		SteadyConns:   64,
		ChurnWorkers:  8,
		OpTimeout:     15 * time.Second,
		SettleTimeout: 30 * time.Second,
	}
}

// shortConfig is -short: one minute, a sample every second.
func shortConfig(cfg config) config {
	cfg.Duration = time.Minute
	cfg.Warmup = 5 * time.Second
	cfg.Interval = time.Second
	return cfg
}

// main parses the flags, runs the soak and writes what it found.
func main() {
	def := defaultConfig()
	duration := flag.Duration("duration", def.Duration, "how long the soak phase lasts (-short: 1m)")
	short := flag.Bool("short", false, "a 1-minute soak sampled every second, unless -duration or -interval say otherwise")
	interval := flag.Duration("interval", def.Interval, "time between samples (-short: 1s)")
	warmup := flag.Duration("warmup", def.Warmup, "steady traffic before the baseline sample (-short: 5s)")
	conns := flag.Int("conns", def.SteadyConns, "long-lived connections per server")
	churn := flag.Int("churn", def.ChurnWorkers, "churn workers per server")
	echoFlags := flag.String("echo-flags", "", "more flags for examples/echo, space-separated (e.g. \"-mode poller\")")
	kvFlags := flag.String("kv-flags", "", "more flags for examples/kv, space-separated (e.g. \"-std\")")
	out := flag.String("out", "", "write the report and the samples to this file as JSON")
	svg := flag.String("svg", "", "write a chart of the samples to this file as SVG")
	flag.Parse()

	cfg := def
	if *short {
		cfg = shortConfig(cfg)
	}
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			cfg.Duration = *duration
		case "interval":
			cfg.Interval = *interval
		case "warmup":
			cfg.Warmup = *warmup
		}
	})
	cfg.SteadyConns, cfg.ChurnWorkers = *conns, *churn
	cfg.EchoArgs, cfg.KVArgs = strings.Fields(*echoFlags), strings.Fields(*kvFlags)
	cfg.Seed = uint64(time.Now().UnixNano())
	if cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Interval <= 0 || cfg.SteadyConns < 1 || cfg.ChurnWorkers < 0 {
		fmt.Fprintln(os.Stderr, "soak: -duration and -interval must be positive, -warmup and -churn not negative, -conns at least 1")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		os.Exit(2)
	}
	rep.writeSummary(os.Stdout)
	if *out != "" {
		if err := writeFile(*out, rep.writeJSON); err != nil {
			fmt.Fprintf(os.Stderr, "soak: -out: %v\n", err)
			os.Exit(2)
		}
	}
	if *svg != "" {
		if err := writeFile(*svg, func(w io.Writer) error { return writeChart(w, rep) }); err != nil {
			fmt.Fprintf(os.Stderr, "soak: -svg: %v\n", err)
			os.Exit(2)
		}
	}
	if !rep.Pass {
		os.Exit(1)
	}
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
