package main

import (
	"fmt"
	"strings"
)

// markdown renders the report as RESULTS.md.
func markdown(rep *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	mode := "full"
	if rep.Quick {
		mode = "quick (-quick: shorter runs, fewer requests)"
	}
	p("# metal side by side: results")
	p("")
	p("Written by `cd bench && go run ./cmd/compare` on %s; the run took %s. Mode: %s.", rep.Date, rep.Took, mode)
	p("")
	p("- Machine: %s.", rep.Machine.Summary())
	p("- Placement: %s.", rep.Placement)
	p("- Every ratio is to Go's `net` with a goroutine per connection (`std`), measured in the same run. Above 1 is faster for throughput; below 1 is smaller for memory and system calls.")
	p("- The exact commands are at the end. The chart of throughput ratios is [chart.svg](chart.svg).")
	p("")
	b.WriteString(summaryTable(rep))
	echoSection(&b, rep)
	respSection(&b, rep)
	httpSection(&b, rep)
	idleSection(&b, rep)
	syscallSection(&b, rep)
	microSection(&b, rep)
	if len(rep.Skipped) > 0 {
		p("## Not measured in this run")
		p("")
		for _, s := range rep.Skipped {
			p("- %s", s)
		}
		p("")
	}
	p("## Commands")
	p("")
	p("```")
	for _, c := range rep.Commands {
		p("%s", c)
	}
	p("```")
	return b.String()
}

// ratio formats v/base, or "" when either is missing.
func ratio(v, base float64) string {
	if v <= 0 || base <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%.2fx)", v/base)
}

func echoSection(b *strings.Builder, rep *Report) {
	if len(rep.Echo) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 1. Echo ping-pong")
	p("")
	p("Each connection sends one message and waits for its echo before the next; bench's load client (`cmd/echoload`, one goroutine on epoll) checks every byte. Cells: messages a second (ratio to std), latency p99, and the server's CPU time per message (lower is better). The load client and the server each have one core, and on loopback each side's system calls dominate, so throughput ratios are squeezed toward 1; server CPU per message shows the difference the client cannot.")
	p("")
	impls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.Echo {
			yield(e.Impl)
		}
	})
	for _, size := range echoSizes {
		p("### %d B messages", size)
		p("")
		header := "| implementation |"
		sep := "|---|"
		for _, c := range echoConns {
			header += fmt.Sprintf(" %d conns |", c)
			sep += "---|"
		}
		p("%s", header)
		p("%s", sep)
		for _, impl := range impls {
			line := "| " + impl + " |"
			for _, c := range echoConns {
				row, ok := findEcho(rep, impl, size, c)
				base, _ := findEcho(rep, "std", size, c)
				switch {
				case !ok:
					line += " |"
				case row.Err != "":
					line += " failed |"
				default:
					line += fmt.Sprintf(" **%s**%s · p99 %s · %.2f µs CPU/msg |", count(row.MsgsPerSec), ratio(row.MsgsPerSec, base.MsgsPerSec), us(row.P99us), row.ServerCPUus)
				}
			}
			p("%s", line)
		}
		p("")
	}
	errorsOf(b, func(yield func(string, string)) {
		for _, e := range rep.Echo {
			if e.Err != "" {
				yield(fmt.Sprintf("echo %s %d B %d conns", e.Impl, e.Size, e.Conns), e.Err)
			}
		}
	})
}

func findEcho(rep *Report, impl string, size, conns int) (EchoRow, bool) {
	for _, e := range rep.Echo {
		if e.Impl == impl && e.Size == size && e.Conns == conns {
			return e, true
		}
	}
	return EchoRow{}, false
}

func respSection(b *strings.Builder, rep *Report) {
	if len(rep.Resp) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 2. RESP: redis-benchmark -t ping,set,get")
	p("")
	p("Every server answers PING, SET and GET from one shared map. `kv` is metal's examples/kv (a fuller command set, expiry included) and `redis` is redis-server with persistence off. Cells: requests a second; then GET's ratio to std and to redis-server, and the server's CPU time per request over the four tests (lower is better). redis-benchmark is one thread on one core: where every server shows the same rate, the client is what ran out, and the CPU column is the comparison that remains.")
	p("")
	impls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.Resp {
			yield(e.Impl)
		}
	})
	for _, c := range respConns {
		for _, pl := range respPipelines {
			p("### %d connections, pipeline %d", c, pl)
			p("")
			p("| implementation | PING_INLINE | PING_MBULK | SET | GET | GET vs std | GET vs redis | server CPU µs/req |")
			p("|---|---|---|---|---|---|---|---|")
			base, _ := findResp(rep, "std", c, pl)
			redis, _ := findResp(rep, "redis", c, pl)
			for _, impl := range impls {
				row, ok := findResp(rep, impl, c, pl)
				if !ok {
					continue
				}
				if row.Err != "" {
					p("| %s | failed | | | | | | |", impl)
					continue
				}
				line := "| " + impl + " |"
				for _, t := range respTests {
					line += " " + count(row.RPS[t]) + " |"
				}
				line += " " + strings.Trim(ratio(row.RPS["GET"], base.RPS["GET"]), " ()") + " |"
				line += " " + strings.Trim(ratio(row.RPS["GET"], redis.RPS["GET"]), " ()") + " |"
				line += fmt.Sprintf(" %.2f |", row.ServerCPUus)
				p("%s", line)
			}
			p("")
		}
	}
	errorsOf(b, func(yield func(string, string)) {
		for _, e := range rep.Resp {
			if e.Err != "" {
				yield(fmt.Sprintf("resp %s c=%d P=%d", e.Impl, e.Conns, e.Pipeline), e.Err)
			}
		}
	})
}

func findResp(rep *Report, impl string, conns, pipeline int) (RespRow, bool) {
	for _, e := range rep.Resp {
		if e.Impl == impl && e.Conns == conns && e.Pipeline == pipeline {
			return e, true
		}
	}
	return RespRow{}, false
}

func httpSection(b *strings.Builder, rep *Report) {
	if len(rep.HTTP) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 3. HTTP plaintext: wrk -c %d", httpConns)
	p("")
	p("`GET /` answered `Hello, World!`. gnet, netpoll, evio and metal share one minimal HTTP/1.1 parser (they have no HTTP layer of their own); std is net/http, nbio its nbhttp, fasthttp its own server, nginx a `return 200` location. Cells: requests a second (ratio to std), latency p99 (per batch when pipelined; wrk samples none at some rates, shown as a dash) and the server's CPU time per request.")
	p("")
	p("| implementation | one request at a time | pipelined %d |", httpDepth)
	p("|---|---|---|")
	impls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.HTTP {
			yield(e.Impl)
		}
	})
	for _, impl := range impls {
		line := "| " + impl + " |"
		for _, depth := range []int{1, httpDepth} {
			row, ok := findHTTP(rep, impl, depth)
			base, _ := findHTTP(rep, "std", depth)
			switch {
			case !ok:
				line += " |"
			case row.Err != "":
				line += " failed |"
			default:
				line += fmt.Sprintf(" **%s**%s · p99 %s · %.2f µs CPU/req |", count(row.RPS), ratio(row.RPS, base.RPS), us(row.P99ms*1e3), row.ServerCPUus)
			}
		}
		p("%s", line)
	}
	p("")
	errorsOf(b, func(yield func(string, string)) {
		for _, e := range rep.HTTP {
			if e.Err != "" {
				yield(fmt.Sprintf("http %s pipeline %d", e.Impl, e.Pipeline), e.Err)
			}
		}
	})
}

func findHTTP(rep *Report, impl string, depth int) (HTTPRow, bool) {
	for _, e := range rep.HTTP {
		if e.Impl == impl && e.Pipeline == depth {
			return e, true
		}
	}
	return HTTPRow{}, false
}

func idleSection(b *strings.Builder, rep *Report) {
	if len(rep.Idle) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 4. Idle memory")
	p("")
	p("The echo server's resident memory (VmRSS) after a collection (`runtime/debug.FreeOSMemory` on SIGUSR1), before and with %d connections that each echoed one 64 B message and then went idle; kernel socket buffers are not in it.", idleConns)
	p("")
	p("| implementation | RSS before | RSS with connections | per connection | vs std |")
	p("|---|---|---|---|---|")
	var base float64
	for _, e := range rep.Idle {
		if e.Impl == "std" && e.Err == "" {
			base = e.PerConn
		}
	}
	for _, e := range rep.Idle {
		if e.Err != "" {
			p("| %s | failed | | | |", e.Impl)
			continue
		}
		p("| %s | %s | %s | **%.0f B** | %s |", e.Impl, mib(e.RSSBefore), mib(e.RSSAfter), e.PerConn, strings.Trim(ratio(e.PerConn, base), " ()"))
	}
	p("")
	errorsOf(b, func(yield func(string, string)) {
		for _, e := range rep.Idle {
			if e.Err != "" {
				yield("idle "+e.Impl, e.Err)
			}
		}
	})
}

func syscallSection(b *strings.Builder, rep *Report) {
	if len(rep.Syscalls) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 5. System calls per echoed message")
	p("")
	p("Echo of 64 B at %d connections; `perf stat` counts the server's system calls on the kernel's tracepoints over a window in the middle of the run. The floor is 2: one read and one write per message. nanosleep and futex calls are mostly the Go runtime's (sysmon, and waking threads).", syscallConns)
	p("")
	p("| implementation | all | vs floor | read(v) | write(v), send | epoll_wait | futex | nanosleep | other |")
	p("|---|---|---|---|---|---|---|---|---|")
	for _, e := range rep.Syscalls {
		if e.Err != "" {
			p("| %s | failed | | | | | | | |", e.Impl)
			continue
		}
		m := e.PerMsg
		rd, wr := m["read"]+m["readv"], m["write"]+m["writev"]+m["sendto"]
		ep := m["epoll_wait"] + m["epoll_pwait"]
		other := m["all"] - rd - wr - ep - m["futex"] - m["nanosleep"]
		p("| %s | **%.2f** | %+.0f%% | %.2f | %.2f | %.3f | %.3f | %.3f | %.3f |", e.Impl, m["all"], (m["all"]/2-1)*100, rd, wr, ep, m["futex"], m["nanosleep"], other)
	}
	p("")
	errorsOf(b, func(yield func(string, string)) {
		for _, e := range rep.Syscalls {
			if e.Err != "" {
				yield("syscalls "+e.Impl, e.Err)
			}
		}
	})
}

func microSection(b *strings.Builder, rep *Report) {
	if len(rep.Micro) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## 6. Scheduler and timer micro-benchmarks")
	p("")
	p("From metal's `runtime` package: each benchmark runs metal and the plain-Go way of doing the same (goroutines with channels and WaitGroup; `time.AfterFunc`+`Stop`; `context.WithTimeout`+cancel) in one run. Medians of %d runs. The ratio is the Go alternative's time over metal's: above 1, metal is faster.", rep.Micro[0].Runs)
	p("")
	p("| benchmark | metal | allocs/op | alternative | its time | ratio |")
	p("|---|---|---|---|---|---|")
	for _, m := range rep.Micro {
		bench, impl, param := microGroup(m.Name)
		if !isMetal(impl) {
			continue
		}
		label := bench
		if how, ok := strings.CutPrefix(impl, "metal_"); ok {
			label += ", " + how // metal_go: spawned with runtime.Go
		}
		if param != "" {
			label += " (" + param + ")"
		}
		if _, ok := m.Median["p99-late-µs"]; ok {
			p("| %s: timer lateness p50 / p99 / max | %.0f / %.0f / %.0f µs | | | | |", bench, m.Median["p50-late-µs"], m.Median["p99-late-µs"], m.Median["max-late-µs"])
			continue
		}
		alts := 0
		for _, o := range rep.Micro {
			ob, oi, op := microGroup(o.Name)
			if ob != bench || isMetal(oi) || op != param {
				continue
			}
			alts++
			p("| %s | %s | %.0f | %s | %s | **%.2fx** |", label, microDuration(m.Median["ns/op"]), m.Median["allocs/op"], oi, microDuration(o.Median["ns/op"]), o.Median["ns/op"]/m.Median["ns/op"])
		}
		if alts == 0 {
			p("| %s | %s | %.0f | | | |", label, microDuration(m.Median["ns/op"]), m.Median["allocs/op"])
		}
	}
	p("")
}

// isMetal reports whether a micro-benchmark's implementation is metal's:
// "metal", or "metal_" and the way it was used ("metal_go").
func isMetal(impl string) bool {
	return impl == "metal" || strings.HasPrefix(impl, "metal_")
}

// orderedImpls lists implementations once each: std first, metal second,
// then the others as they first appear.
func orderedImpls(each func(yield func(string))) []string {
	var all []string
	each(func(s string) {
		if !containsString(all, s) {
			all = append(all, s)
		}
	})
	out := make([]string, 0, len(all))
	for _, first := range []string{"std", "metal", "kv"} {
		if containsString(all, first) {
			out = append(out, first)
		}
	}
	for _, s := range all {
		if !containsString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// errorsOf lists the failures of a section.
func errorsOf(b *strings.Builder, each func(yield func(what, err string))) {
	first := true
	each(func(what, err string) {
		if first {
			fmt.Fprintf(b, "Failures:\n\n")
			first = false
		}
		fmt.Fprintf(b, "- %s: `%s`\n", what, strings.ReplaceAll(err, "`", "'"))
	})
	if !first {
		b.WriteString("\n")
	}
}

// summaryTable is one row per implementation with the headline figure of
// each scenario, as ratios to std where std ran: the table README.md
// shows.
func summaryTable(rep *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	impls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.Echo {
			yield(e.Impl)
		}
		for _, e := range rep.Resp {
			yield(e.Impl)
		}
		for _, e := range rep.HTTP {
			yield(e.Impl)
		}
	})
	if len(impls) == 0 {
		return ""
	}
	p("## Summary")
	p("")
	p("Throughput as a ratio to std (higher is better); the server's CPU time per message or request, idle memory per connection and system calls per echoed message as measured (lower is better).")
	p("")
	p("| | echo 64 B, 1,000 conns | its CPU µs/msg | RESP GET, 50 conns | its CPU µs/req | RESP GET, 50 conns, P16 | HTTP | its CPU µs/req | HTTP, pipelined %d | idle B/conn | syscalls/msg |", httpDepth)
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	cell := func(v, base float64, ok bool) string {
		if !ok || v <= 0 || base <= 0 {
			return ""
		}
		return fmt.Sprintf("%.2fx", v/base)
	}
	for _, impl := range impls {
		e, eok := findEcho(rep, impl, 64, 1000)
		eb, _ := findEcho(rep, "std", 64, 1000)
		r1, r1ok := findResp(rep, impl, 50, 1)
		r1b, _ := findResp(rep, "std", 50, 1)
		r16, r16ok := findResp(rep, impl, 50, 16)
		r16b, _ := findResp(rep, "std", 50, 16)
		h1, h1ok := findHTTP(rep, impl, 1)
		h1b, _ := findHTTP(rep, "std", 1)
		h16, h16ok := findHTTP(rep, impl, httpDepth)
		h16b, _ := findHTTP(rep, "std", httpDepth)
		idle, sys := "", ""
		for _, row := range rep.Idle {
			if row.Impl == impl && row.Err == "" {
				idle = fmt.Sprintf("%.0f", row.PerConn)
			}
		}
		for _, row := range rep.Syscalls {
			if row.Impl == impl && row.Err == "" {
				sys = fmt.Sprintf("%.2f", row.PerMsg["all"])
			}
		}
		name := impl
		if impl == "metal" {
			name = "**metal**"
		}
		cpu := func(v float64, ok bool) string {
			if !ok || v <= 0 {
				return ""
			}
			return fmt.Sprintf("%.2f", v)
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name,
			cell(e.MsgsPerSec, eb.MsgsPerSec, eok && e.Err == ""),
			cpu(e.ServerCPUus, eok && e.Err == ""),
			cell(r1.RPS["GET"], r1b.RPS["GET"], r1ok && r1.Err == ""),
			cpu(r1.ServerCPUus, r1ok && r1.Err == ""),
			cell(r16.RPS["GET"], r16b.RPS["GET"], r16ok && r16.Err == ""),
			cell(h1.RPS, h1b.RPS, h1ok && h1.Err == ""),
			cpu(h1.ServerCPUus, h1ok && h1.Err == ""),
			cell(h16.RPS, h16b.RPS, h16ok && h16.Err == ""),
			idle, sys)
	}
	p("")
	return b.String()
}
