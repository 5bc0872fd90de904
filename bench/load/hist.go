package load

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts durations in logarithmic buckets, in the manner of
// HdrHistogram: below 2·subBuckets nanoseconds every value has a bucket of
// its own; above, each power of two is split into subBuckets equal buckets,
// so a recorded value is known to within 1/subBuckets (0.8%). Durations
// beyond maxTrackable are counted as maxTrackable.
//
// Record is safe to call from any number of goroutines (one atomic add);
// the memory is fixed (about 35 KiB) whatever is recorded.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits // buckets per power of two
	// maxBits bounds the values tracked: 2^maxBits ns is about 18 minutes.
	maxBits      = 40
	maxTrackable = 1<<maxBits - 1
	// numBuckets is bucketOf(maxTrackable) + 1.
	numBuckets = (maxBits-subBits)*subBuckets + subBuckets
)

// bucketOf returns the index of the bucket v (nanoseconds) falls in.
func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	mantissa := uint64(i%subBuckets + subBuckets)
	return (mantissa+1)<<shift - 1
}

// Record counts one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(min(v, maxTrackable))].Add(1)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Quantile returns the duration at or below which the fraction q (0 to 1)
// of the recorded durations lie, as the upper bound of the bucket that holds
// it; 0 if nothing was recorded. Read it once recording has stopped.
func (h *Histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	// rank is the 1-based position of the wanted value in sorted order.
	rank := uint64(q*float64(total) + 0.5)
	rank = min(max(rank, 1), total)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(bucketHigh(i))
		}
	}
	return time.Duration(maxTrackable)
}
