package store

import "testing"

// BenchmarkQuietIn100k lists the quiet instances of a partition holding
// 100,000 instances that all beat on time: what an owner's last-heard
// report costs it every HeardInterval.
func BenchmarkQuietIn100k(b *testing.B) {
	s := fillStore(b, newFakeClock(), 1000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, ok := s.QuietIn(0); !ok {
			b.Fatal("QuietIn: too many quiet")
		}
	}
}
