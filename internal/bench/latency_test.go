package bench

import (
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestLatencies_Percentile(t *testing.T) {
	var hundred Latencies
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, ms(i))
	}
	hundred = NewLatencies(hundred)
	var thousand Latencies
	for i := 1; i <= 1000; i++ {
		thousand = append(thousand, ms(i))
	}
	tests := []struct {
		name string
		l    Latencies
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value p50", Latencies{ms(7)}, 0.5, ms(7)},
		{"one value p999", Latencies{ms(7)}, 0.999, ms(7)},
		{"p0 is the min", hundred, 0, ms(1)},
		{"p50 of 1..100", hundred, 0.50, ms(50)},
		{"p99 of 1..100", hundred, 0.99, ms(99)},
		{"p999 of 1..100 is the max", hundred, 0.999, ms(100)},
		{"p100 is the max", hundred, 1, ms(100)},
		{"p50 of 1..1000", thousand, 0.50, ms(500)},
		{"p99 of 1..1000", thousand, 0.99, ms(990)},
		{"p999 of 1..1000", thousand, 0.999, ms(999)},
		{"p50 of two rounds down to a real value", NewLatencies(Latencies{ms(10), ms(2)}), 0.5, ms(2)},
		{"p51 of two", NewLatencies(Latencies{ms(10), ms(2)}), 0.51, ms(10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Percentile(tt.q); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewLatencies_mergesSorted(t *testing.T) {
	got := NewLatencies(Latencies{ms(3), ms(1)}, nil, Latencies{ms(2)})
	want := Latencies{ms(1), ms(2), ms(3)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got.Max() != ms(3) || got.Mean() != ms(2) {
		t.Errorf("got max %v mean %v, want 3ms 2ms", got.Max(), got.Mean())
	}
}
