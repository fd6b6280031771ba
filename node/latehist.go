package node

import (
	"math"
	"sync/atomic"
	"time"
)

// lateHist counts durations (how late expiries land) in logarithmic
// buckets: bucket 0 holds everything up to lateBase, bucket i up to
// lateBase·lateGrowth^i, the last one everything longer. Recording is a
// few atomic adds; quantiles read the upper edge of their bucket, so they
// err high by at most the growth factor.
type lateHist struct {
	counts [lateBuckets]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

const (
	lateBuckets = 64
	lateBase    = 100 * time.Microsecond
	lateGrowth  = 1.25 // 100 µs · 1.25^63 ≈ 127 s
)

// bucketOf returns the bucket of d.
func bucketOf(d time.Duration) int {
	if d <= lateBase {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(lateBase)) / math.Log(lateGrowth)))
	return min(i, lateBuckets-1)
}

// upperEdge returns the largest duration bucket i holds.
func upperEdge(i int) time.Duration {
	return time.Duration(float64(lateBase) * math.Pow(lateGrowth, float64(i)))
}

// record counts one duration; negative ones count as zero.
func (h *lateHist) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(int64(d))
}

// promBuckets returns cumulative counts at every fourth bucket edge (a
// factor of about 2.4 apart), keyed by the edge in seconds, for a
// Prometheus histogram, with the total count and the sum in seconds.
func (h *lateHist) promBuckets() (map[float64]uint64, uint64, float64) {
	out := make(map[float64]uint64, lateBuckets/4)
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if i%4 == 3 && i != lateBuckets-1 {
			out[upperEdge(i).Seconds()] = cum
		}
	}
	return out, cum, time.Duration(h.sum.Load()).Seconds()
}

// count returns how many durations were recorded.
func (h *lateHist) count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// quantile returns the upper edge of the bucket holding quantile q (0..1)
// of what was recorded, or 0 if nothing was.
func (h *lateHist) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= max(rank, 1) {
			return upperEdge(i)
		}
	}
	return upperEdge(lateBuckets - 1)
}
