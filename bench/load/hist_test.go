package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueInOrder(t *testing.T) {
	// Each bucket's range starts just after the previous one's ends.
	prevHigh := int64(-1)
	for i := range numBuckets {
		high := bucketHigh(i)
		if bucketOf(uint64(prevHigh+1)) != i || bucketOf(high) != i {
			t.Fatalf("bucket %d: [%d, %d] does not map back to %d", i, prevHigh+1, high, i)
		}
		prevHigh = int64(high)
	}
	if uint64(prevHigh) != maxTrackable {
		t.Fatalf("last bucket ends at %d, want %d", prevHigh, uint64(maxTrackable))
	}
}

func TestQuantilesAreWithinOnePercent(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]time.Duration, 100_000)
	for i := range values {
		// From about 1 µs to 100 ms, spread over the logarithm.
		values[i] = time.Duration(float64(int64(1000)<<rng.IntN(17)) * (1 + rng.Float64()))
		h.Record(values[i])
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := values[int(q*float64(len(values)))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > 0.01*float64(want) {
			t.Errorf("p%v = %v, want %v within 1%% above", q*100, got, want)
		}
	}
	if h.Count() != uint64(len(values)) {
		t.Errorf("count = %d, want %d", h.Count(), len(values))
	}
}

func TestHistogramClampsOutOfRangeValues(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(24 * time.Hour)
	if got := h.Quantile(0); got != 0 {
		t.Errorf("p0 = %v, want 0", got)
	}
	if got := h.Quantile(1); got != time.Duration(maxTrackable) {
		t.Errorf("p100 = %v, want %v", got, time.Duration(maxTrackable))
	}
	var empty Histogram
	if got := empty.Quantile(0.99); got != 0 {
		t.Errorf("empty p99 = %v, want 0", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := range b.N {
		h.Record(time.Duration(i & 0xfffff))
	}
}
