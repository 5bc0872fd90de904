package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// implColors gives each implementation one color in every chart; metal's
// stands out.
var implColors = map[string]string{
	"std":      "#9e9e9e",
	"metal":    "#d62728",
	"kv":       "#ff7f0e",
	"gnet":     "#1f77b4",
	"netpoll":  "#2ca02c",
	"nbio":     "#9467bd",
	"evio":     "#8c564b",
	"fasthttp": "#e377c2",
	"redis":    "#17becf",
	"nginx":    "#bcbd22",
}

// chartGroup is one scenario's bars: each implementation's throughput as
// a ratio to std's.
type chartGroup struct {
	label string
	bars  []chartBar
}

type chartBar struct {
	impl  string
	ratio float64
}

// chartGroups collects the throughput scenarios of the report.
func chartGroups(rep *Report) []chartGroup {
	var groups []chartGroup
	add := func(label string, impls []string, value func(impl string) (float64, bool)) {
		base, ok := value("std")
		if !ok || base <= 0 {
			return
		}
		g := chartGroup{label: label}
		for _, impl := range impls {
			if v, ok := value(impl); ok && v > 0 {
				g.bars = append(g.bars, chartBar{impl, v / base})
			}
		}
		groups = append(groups, g)
	}
	echoImpls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.Echo {
			yield(e.Impl)
		}
	})
	for _, size := range echoSizes {
		for _, c := range echoConns {
			add(fmt.Sprintf("echo %dB|%d conns", size, c), echoImpls, func(impl string) (float64, bool) {
				e, ok := findEcho(rep, impl, size, c)
				return e.MsgsPerSec, ok && e.Err == ""
			})
		}
	}
	respImpls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.Resp {
			yield(e.Impl)
		}
	})
	for _, c := range respConns {
		for _, pl := range respPipelines {
			add(fmt.Sprintf("RESP GET|c=%d P=%d", c, pl), respImpls, func(impl string) (float64, bool) {
				e, ok := findResp(rep, impl, c, pl)
				return e.RPS["GET"], ok && e.Err == ""
			})
		}
	}
	httpImpls := orderedImpls(func(yield func(string)) {
		for _, e := range rep.HTTP {
			yield(e.Impl)
		}
	})
	for _, depth := range []int{1, httpDepth} {
		add(fmt.Sprintf("HTTP|pipeline %d", depth), httpImpls, func(impl string) (float64, bool) {
			e, ok := findHTTP(rep, impl, depth)
			return e.RPS, ok && e.Err == ""
		})
	}
	return groups
}

// chart draws the throughput ratios as grouped bars, one group per
// scenario, with a line at 1 (std).
func chart(rep *Report) string {
	groups := chartGroups(rep)
	const (
		barW, gap        = 9.0, 16.0
		left, top, plotH = 56.0, 40.0, 300.0
		bottom           = 120.0
	)
	maxBars, maxRatio := 1, 1.0
	var legend []string
	for _, g := range groups {
		maxBars = max(maxBars, len(g.bars))
		for _, b := range g.bars {
			maxRatio = max(maxRatio, b.ratio)
			if !containsString(legend, b.impl) {
				legend = append(legend, b.impl)
			}
		}
	}
	legend = orderedImpls(func(yield func(string)) {
		for _, s := range legend {
			yield(s)
		}
	})
	// A log scale: ratios from a quarter to many times std share one
	// chart, and 2x above std is as tall as 2x below.
	minRatio := 1.0
	for _, g := range groups {
		for _, b := range g.bars {
			minRatio = min(minRatio, b.ratio)
		}
	}
	lo := math.Floor(math.Log2(min(minRatio, 0.5)))
	hi := math.Ceil(math.Log2(max(maxRatio, 2)))
	groupW := float64(maxBars)*barW + gap
	width := left + float64(max(len(groups), 1))*groupW + 20
	height := top + plotH + bottom
	y := func(r float64) float64 { return top + plotH - (math.Log2(r)-lo)/(hi-lo)*plotH }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`, width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>`)
	p(`<text x="%.0f" y="18" font-size="14" font-weight="bold">Throughput relative to Go's net (std = 1, log scale), %s</text>`, left, html.EscapeString(rep.Date))
	for e := lo; e <= hi; e++ {
		r := math.Exp2(e)
		p(`<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>`, left, width-20, y(r), y(r))
		p(`<text x="%.0f" y="%.1f" text-anchor="end">%gx</text>`, left-6, y(r)+4, r)
	}
	p(`<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`, left, width-20, y(1), y(1))
	for i, g := range groups {
		x0 := left + float64(i)*groupW + gap/2
		for j, bar := range g.bars {
			color := implColors[bar.impl]
			if color == "" {
				color = "#333333"
			}
			x := x0 + float64(j)*barW
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %.2fx</title></rect>`,
				x, y(bar.ratio), barW-1, top+plotH-y(bar.ratio), color, html.EscapeString(bar.impl), bar.ratio)
		}
		cx := x0 + float64(len(g.bars))*barW/2
		for k, part := range strings.Split(g.label, "|") {
			p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, cx, top+plotH+16+float64(k)*13, html.EscapeString(part))
		}
	}
	for i, impl := range legend {
		x := left + float64(i)*90
		color := implColors[impl]
		if color == "" {
			color = "#333333"
		}
		p(`<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/>`, x, top+plotH+56, color)
		p(`<text x="%.0f" y="%.0f">%s</text>`, x+16, top+plotH+66, html.EscapeString(impl))
	}
	p(`<text x="%.0f" y="%.0f" fill="#555">echo: msgs/s from bench's load client; RESP: redis-benchmark GET req/s; HTTP: wrk req/s. Machine: %s</text>`,
		left, top+plotH+96, html.EscapeString(rep.Machine.Summary()))
	p(`</svg>`)
	return b.String()
}
