package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// RegisterManyWithin does what RegisterWithin does item by item, across
// more items than one hold of the lock takes: the same outcomes (limits
// included, and an instance registered twice in one batch) and the same
// records.
func TestStore_RegisterManyWithinAsOneByOne(t *testing.T) {
	lim := Limits{PerService: 60, PerNamespace: 170}
	var items []RegisterItem
	for i := range 3*registerManyChunk + 7 {
		k := Key{Namespace: fmt.Sprintf("ns%d", i%2), Group: DefaultGroup, Service: fmt.Sprintf("s%d", i%3)}
		in := inst(fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), 80)
		in.Metadata = map[string]string{"i": fmt.Sprint(i)}
		items = append(items, RegisterItem{Key: k, In: in})
	}
	items = append(items, RegisterItem{Key: items[0].Key, In: inst(items[0].In.IP, 80)}) // again, without metadata

	many, one := newTestStore(t, "a", newFakeClock()), newTestStore(t, "a", newFakeClock())
	out := make([]RegisterOutcome, len(items))
	many.RegisterManyWithin(items, lim, out)
	refused := 0
	for i, it := range items {
		want, err := one.RegisterWithin(it.Key, it.In, lim)
		if (err == nil) != (out[i].Err == nil) || err != nil && err.Error() != out[i].Err.Error() {
			t.Fatalf("item %d: error %v, one by one %v", i, out[i].Err, err)
		}
		if err != nil {
			if !errors.Is(out[i].Err, ErrServiceFull) && !errors.Is(out[i].Err, ErrNamespaceFull) {
				t.Fatalf("item %d: unexpected error %v", i, out[i].Err)
			}
			refused++
			continue
		}
		if !reflect.DeepEqual(out[i].Instance, want) {
			t.Fatalf("item %d: stored %+v, one by one %+v", i, out[i].Instance, want)
		}
	}
	if refused == 0 || refused == len(items) {
		t.Fatalf("%d of %d refused: the limits were not exercised", refused, len(items))
	}
	if d := diffRecords(normalize(many.Records()), normalize(one.Records())); d != "" {
		t.Fatalf("records differ: %s", d)
	}
	if got := many.NamespaceLen("ns0") + many.NamespaceLen("ns1"); got != len(items)-1-refused {
		t.Fatalf("%d live instances, want %d", got, len(items)-1-refused)
	}
	// The caller's instances are not changed (they are copied).
	if items[1].In.Cluster != DefaultCluster || items[1].In.Version != (Version{}) {
		t.Fatalf("the caller's item changed: %+v", items[1].In)
	}
}
