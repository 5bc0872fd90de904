package main

// This file draws the soak's samples as an SVG chart, by hand: three
// panels one above the other (RSS, open descriptors, goroutines) against
// seconds since the start, one line per server, the soak phase shaded.

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth   = 760
	panelHeight  = 150 // the plot area of one panel
	panelGap     = 46  // between one panel's plot and the next's
	chartTop     = 74  // above the first panel: title and legend
	chartLeft    = 64  // for the y labels
	chartRight   = 16
	chartBottom  = 34 // below the last panel: the x label
	chartYTicks  = 4  // intervals on a y axis
	chartXTarget = 8  // about how many intervals on an x axis
)

// serverColors gives each server its line's color.
var serverColors = map[string]string{"echo": "#1f77b4", "kv": "#d62728"}

// chartPanel is one metric.
type chartPanel struct {
	title string
	value func(Sample) float64
}

// chartPanels are the panels, top to bottom.
var chartPanels = []chartPanel{
	{"RSS (MiB)", func(s Sample) float64 { return float64(s.RSS) / (1 << 20) }},
	{"open file descriptors", func(s Sample) float64 { return float64(s.FDs) }},
	{"goroutines", func(s Sample) float64 { return float64(s.Goroutines) }},
}

// writeChart writes the chart of rep's samples to w.
func writeChart(w io.Writer, rep *report) error {
	bw := bufio.NewWriter(w)
	height := chartTop + len(chartPanels)*panelHeight + (len(chartPanels)-1)*panelGap + chartBottom
	plotWidth := float64(chartWidth - chartLeft - chartRight)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	fmt.Fprintf(bw, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", chartLeft, html.EscapeString(rep.title()))

	// Legend.
	x := chartLeft
	for _, s := range rep.Servers {
		fmt.Fprintf(bw, `<line x1="%d" y1="36" x2="%d" y2="36" stroke="%s" stroke-width="2"/>`, x, x+18, serverColor(s.Name))
		fmt.Fprintf(bw, `<text x="%d" y="40">%s</text>`+"\n", x+22, html.EscapeString(s.Name))
		x += 70
	}
	fmt.Fprintf(bw, `<rect x="%d" y="30" width="18" height="12" fill="#eeeeee"/><text x="%d" y="40">soak phase: churn and steady traffic</text>`+"\n", x, x+22)

	tMax := 0.0
	for _, s := range rep.Servers {
		for _, smp := range s.Samples {
			tMax = max(tMax, smp.T)
		}
	}
	if tMax <= 0 {
		tMax = 1
	}
	xStep := niceStep(tMax / chartXTarget)
	tMax = math.Ceil(tMax/xStep) * xStep
	xOf := func(t float64) float64 { return chartLeft + t/tMax*plotWidth }

	soakFrom, soakTo, hasSoak := rep.phaseSpan(phaseSoak)
	for i, p := range chartPanels {
		top := float64(chartTop + i*(panelHeight+panelGap))
		bottom := top + panelHeight

		vMax := 0.0
		for _, s := range rep.Servers {
			for _, smp := range s.Samples {
				vMax = max(vMax, p.value(smp))
			}
		}
		// A tenth of headroom, so that a flat line is not drawn on the
		// panel's top edge.
		vMax = max(vMax*1.1, 1)
		yStep := niceStep(vMax / chartYTicks)
		vTop := math.Ceil(vMax/yStep) * yStep
		yOf := func(v float64) float64 { return bottom - v/vTop*panelHeight }

		if hasSoak {
			fmt.Fprintf(bw, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#eeeeee"/>`+"\n",
				xOf(soakFrom), top, xOf(soakTo)-xOf(soakFrom), panelHeight)
		}
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" font-weight="bold">%s</text>`+"\n", chartLeft, top-6, html.EscapeString(p.title))
		for k := 0; float64(k)*yStep <= vTop+yStep/2; k++ {
			v := float64(k) * yStep
			y := yOf(v)
			fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#cccccc" stroke-width="0.5"/>`, chartLeft, y, chartWidth-chartRight, y)
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLeft-6, y+4, formatTick(v))
		}
		for k := 0; float64(k)*xStep <= tMax+xStep/2; k++ {
			t := float64(k) * xStep
			fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, xOf(t), bottom+14, formatTick(t))
		}
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", chartLeft, bottom, chartWidth-chartRight, bottom)
		for _, s := range rep.Servers {
			if len(s.Samples) == 0 {
				continue
			}
			fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, serverColor(s.Name))
			for k, smp := range s.Samples {
				if k > 0 {
					bw.WriteByte(' ')
				}
				fmt.Fprintf(bw, "%.1f,%.1f", xOf(smp.T), yOf(p.value(smp)))
			}
			bw.WriteString(`"/>` + "\n")
		}
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">seconds since start</text>`+"\n", chartLeft+plotWidth/2, height-6)
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// serverColor is name's line color; a server without one is drawn grey.
func serverColor(name string) string {
	if c, ok := serverColors[name]; ok {
		return c
	}
	return "#7f7f7f"
}

// niceStep returns the smallest of 1, 2 or 5 times a power of ten that is
// at least raw (which must be positive).
func niceStep(raw float64) float64 {
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw*(1-1e-9) {
			return m * pow
		}
	}
	return 10 * pow
}

// formatTick formats an axis label with as few digits as it needs, to a
// millionth.
func formatTick(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}
