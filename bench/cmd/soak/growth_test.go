package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series returns n samples of f(i) plus noise uniform in ±noise.
func series(n int, noise float64, f func(i int) float64) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = f(i) + noise*(2*rng.Float64()-1)
	}
	return xs
}

const mib = 1 << 20

func TestGrowthPassesAFlatNoisySeries(t *testing.T) {
	// 120 samples (10 minutes at 5 s) of 30 MiB ± 2 MiB.
	xs := series(120, 2*mib, func(int) float64 { return 30 * mib })
	g, ok := judgeGrowth(xs, rssTolerance)
	if !ok || g.Grew {
		t.Fatalf("flat noisy series: judged %+v (ok=%v), want no growth", g, ok)
	}
}

func TestGrowthPassesAGarbageCollectorsSawTooth(t *testing.T) {
	// The heap climbs from 20 to 40 MiB and is collected, every 7
	// samples, with noise on top.
	xs := series(120, mib, func(i int) float64 { return 20*mib + float64(i%7)/6*20*mib })
	if g, ok := judgeGrowth(xs, rssTolerance); !ok || g.Grew {
		t.Fatalf("saw-tooth: judged %+v (ok=%v), want no growth", g, ok)
	}
}

func TestGrowthPassesARampThatLevelsOff(t *testing.T) {
	// From 10 MiB to 30 MiB over the first quarter, then flat: warming
	// up is not a leak.
	xs := series(120, 0.5*mib, func(i int) float64 { return 10*mib + 20*mib*math.Min(float64(i)/30, 1) })
	if g, ok := judgeGrowth(xs, rssTolerance); !ok || g.Grew {
		t.Fatalf("ramp then flat: judged %+v (ok=%v), want no growth", g, ok)
	}
}

func TestGrowthFailsASteadyLeak(t *testing.T) {
	// 25 MiB, leaking 64 KiB a second for 10 minutes (sampled every
	// 5 s), under the same noise the flat series passes with.
	xs := series(120, 2*mib, func(i int) float64 { return 25*mib + float64(i)*5*(64<<10) })
	g, ok := judgeGrowth(xs, rssTolerance)
	if !ok || !g.Grew {
		t.Fatalf("steady leak: judged %+v (ok=%v), want growth", g, ok)
	}
}

func TestGrowthFailsADescriptorLeak(t *testing.T) {
	// 72 connections' descriptors ± 8, and one leaked every sample.
	xs := series(120, 8, func(i int) float64 { return 80 + float64(i) })
	if g, ok := judgeGrowth(xs, fdTolerance); !ok || !g.Grew {
		t.Fatalf("descriptor leak: judged %+v (ok=%v), want growth", g, ok)
	}
	flat := series(120, 8, func(int) float64 { return 80 })
	if g, ok := judgeGrowth(flat, fdTolerance); !ok || g.Grew {
		t.Fatalf("flat descriptors: judged %+v (ok=%v), want no growth", g, ok)
	}
}

func TestGrowthFailsAJumpInTheLastThird(t *testing.T) {
	xs := series(60, 0, func(i int) float64 {
		if i >= 50 {
			return 40 * mib
		}
		return 20 * mib
	})
	g, ok := judgeGrowth(xs, rssTolerance)
	if !ok || !g.Grew || g.Middle != 20*mib || g.Last != 40*mib || g.Limit != 26*mib {
		t.Fatalf("jump: judged %+v (ok=%v), want middle 20 MiB, last 40 MiB, limit 26 MiB, grew", g, ok)
	}
}

func TestGrowthNeedsEnoughSamples(t *testing.T) {
	if _, ok := judgeGrowth(make([]float64, minGrowthSamples-1), rssTolerance); ok {
		t.Fatalf("judged %d samples", minGrowthSamples-1)
	}
	if _, ok := judgeGrowth(make([]float64, minGrowthSamples), rssTolerance); !ok {
		t.Fatalf("did not judge %d samples", minGrowthSamples)
	}
}
