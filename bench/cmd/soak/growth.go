package main

// This file is the verdict on a series of samples taken under steady load:
// did it level off, or does it grow without bound?
//
// The soak phase's samples are cut into thirds. The first third is the
// ramp: the heap reaching the size the load needs, the kernel's socket
// buffers, the pools filling. Under a load that does not change, a server
// that does not leak has levelled off by the middle third, and the last
// third peaks no higher than the middle one. So the series fails if
//
//	max(last third) > max(middle third) · (1 + rel) + abs
//
// Maxima, not means or a fitted slope, because memory in a garbage
// collected process is a saw-tooth: every third of a run long enough to be
// a soak holds many collection cycles, so its maximum is the top of the
// same tooth, and a slope fitted through the teeth is mostly noise.
//
// A steady leak that adds G over the soak phase lifts the last third's
// maximum over the middle third's by about G/3, while the middle third's
// maximum has itself grown by 2G/3 over the level R the series would keep
// without the leak. So the series fails once
//
//	G/3 > rel·(R + 2G/3) + abs,  that is  G > 3·(rel·R + abs) / (1 − 2·rel)
//
// The slack, rel and abs, is what noise is allowed: rel for a heap that
// settles a size class higher, abs for a small process, where a few spans
// or a socket buffer are a large fraction of the total.

// tolerance is the slack a series is allowed: the last third's maximum
// may exceed the middle third's by a factor of rel plus abs.
type tolerance struct {
	rel float64
	abs float64
}

// The tolerances of the three series the soak judges.
var (
	// rssTolerance: 10% + 4 MiB. A server of R = 16 MiB fails if a leak
	// adds more than 3·(1.6 + 4)/0.8 = 21 MiB over the soak phase: over
	// 10 minutes, about 36 KiB a second, or 45 bytes for each of the
	// 486,000 connections the recorded 10-minute soak opened to each
	// server (Go lets the heap reach twice what is live, so RSS grows by
	// about twice what leaks: some 23 leaked bytes a connection would
	// do). Without a leak, the RSS of both servers stays within a MiB
	// once warm (docs/RELIABILITY.md).
	rssTolerance = tolerance{rel: 0.10, abs: 4 << 20}
	// fdTolerance: 16, no relative slack. The load holds a fixed number
	// of connections (the long-lived ones, one per churn worker, and
	// those closing), so under it the descriptors wander within a few of
	// a fixed level; a leak of 48 over the soak phase fails, one of 5
	// fails the settle check at the end (fdMargin).
	fdTolerance = tolerance{rel: 0, abs: 16}
	// goroutineTolerance: 16, for the same reason (a server with a
	// goroutine per connection, kv -std, holds a fixed number too).
	goroutineTolerance = tolerance{rel: 0, abs: 16}
)

// growth is the verdict on one series.
type growth struct {
	Middle float64 `json:"middle_max"` // the middle third's maximum
	Last   float64 `json:"last_max"`   // the last third's maximum
	Limit  float64 `json:"limit"`      // the most Last may be
	Grew   bool    `json:"grew"`       // Last > Limit
}

// minGrowthSamples is the fewest samples a series can be judged on: three
// per third.
const minGrowthSamples = 9

// judgeGrowth judges series, samples evenly spaced in time under a steady
// load. ok is false if there are fewer than minGrowthSamples, too few to
// judge.
func judgeGrowth(series []float64, tol tolerance) (g growth, ok bool) {
	n := len(series)
	if n < minGrowthSamples {
		return growth{}, false
	}
	g.Middle = maxOf(series[n/3 : 2*n/3])
	g.Last = maxOf(series[2*n/3:])
	g.Limit = g.Middle*(1+tol.rel) + tol.abs
	g.Grew = g.Last > g.Limit
	return g, true
}

// maxOf returns the largest of xs, which must not be empty.
func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}
