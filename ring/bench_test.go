package ring

import (
	"fmt"
	"testing"
)

func BenchmarkOwner(b *testing.B) {
	r := newRing(b, DefaultConfig())
	mustSet(b, r, sequentialMembers(100))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("public##DEFAULT_GROUP@@service-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := r.Owner(keys[i&(len(keys)-1)]); !ok {
			b.Fatal("no owner")
		}
		i++
	}
}

// BenchmarkSet100 alternates between two 100-member sets that differ in one
// name, so every Set rebuilds the partition table.
func BenchmarkSet100(b *testing.B) {
	r := newRing(b, DefaultConfig())
	all := sequentialMembers(101)
	sets := [][]Member{all[:100], all[1:]}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := r.Set(sets[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
