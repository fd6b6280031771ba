package bench

import (
	"math"
	"slices"
	"time"
)

// Latencies is a set of recorded durations. Sort it (or build it with
// NewLatencies) before asking for percentiles. A Latencies is not safe for
// concurrent use; give each worker its own and Merge them.
type Latencies []time.Duration

// NewLatencies returns the merge of sets, sorted.
func NewLatencies(sets ...Latencies) Latencies {
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	out := make(Latencies, 0, n)
	for _, s := range sets {
		out = append(out, s...)
	}
	slices.Sort(out)
	return out
}

// Percentile returns the q-quantile (0 ≤ q ≤ 1) of the sorted set l by
// the nearest-rank method: the smallest recorded value such that at least
// q of all values are at or below it. It never interpolates, so the answer
// is always a latency that was actually observed. An empty set gives 0.
func (l Latencies) Percentile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	if q <= 0 {
		return l[0]
	}
	if q >= 1 {
		return l[len(l)-1]
	}
	// The rank is ceil(q·n); the tiny epsilon keeps q·n that is an integer
	// in exact arithmetic (0.99·100) from rounding up to the next rank.
	rank := int(math.Ceil(q*float64(len(l)) - 1e-9))
	if rank < 1 {
		rank = 1
	}
	return l[rank-1]
}

// Max returns the largest value of the sorted set, or 0.
func (l Latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1]
}

// Mean returns the arithmetic mean, or 0.
func (l Latencies) Mean() time.Duration {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return sum / time.Duration(len(l))
}
