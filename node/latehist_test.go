package node

import (
	"testing"
	"time"
)

func TestLateHist(t *testing.T) {
	var h lateHist
	if h.quantile(0.99) != 0 {
		t.Fatalf("empty histogram quantile %v, want 0", h.quantile(0.99))
	}
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond) // 1 ms … 1 s
	}
	h.record(-time.Second)
	if h.count() != 1001 {
		t.Fatalf("count %d, want 1001", h.count())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		// The answer is the upper edge of the right bucket: never below
		// the true value, at most one growth factor above it.
		if got < c.want || float64(got) > float64(c.want)*lateGrowth {
			t.Errorf("quantile(%v) = %v, want within [%v, %v]", c.q, got, c.want, time.Duration(float64(c.want)*lateGrowth))
		}
	}
	if got := h.quantile(0); got != lateBase {
		t.Errorf("quantile(0) = %v, want %v (the negative one, counted as zero)", got, lateBase)
	}
	if bucketOf(time.Hour) != lateBuckets-1 {
		t.Errorf("an hour is not in the last bucket")
	}
}
