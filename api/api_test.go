package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestKeys pins the key formats: nodes and clients hash and compare these
// exact strings, so a change here is a change of the wire contract.
func TestKeys(t *testing.T) {
	if got := ServiceKey(DefaultNamespace, DefaultGroup, "orders"); got != "public##DEFAULT_GROUP@@orders" {
		t.Errorf("ServiceKey: %q", got)
	}
	if got := Grouped("g", "orders"); got != "g@@orders" {
		t.Errorf("Grouped: %q", got)
	}
	if got := InstanceID("10.0.0.7", 8080, DefaultCluster, DefaultGroup, "orders"); got != "10.0.0.7#8080#DEFAULT#DEFAULT_GROUP@@orders" {
		t.Errorf("InstanceID: %q", got)
	}
}

// TestPartition pins the hash: xxhash64 with seed 0, modulo the count.
func TestPartition(t *testing.T) {
	// XXH64("", seed 0) = 0xef46db3751d8e999, a published test vector.
	if got, want := Partition("", 1<<62), int(uint64(0xef46db3751d8e999)%(1<<62)); got != want {
		t.Fatalf("Partition(\"\"): got %d, want %d", got, want)
	}
	for _, k := range []string{"", "a", ServiceKey("public", "DEFAULT_GROUP", "orders")} {
		if p := Partition(k, 4093); p < 0 || p >= 4093 {
			t.Fatalf("Partition(%q, 4093) = %d, out of range", k, p)
		}
	}
}

func TestRing_ownerAndValidate(t *testing.T) {
	ms := []RingMember{{Name: "a", HTTPAddr: "a:1"}, {Name: "b", HTTPAddr: "b:1"}}
	owners := make([]int, 7)
	for p := range owners {
		owners[p] = p % 2
	}
	good := Ring{Version: 3, Partitions: 7, Hash: HashXXHash64, Members: ms, Owners: owners}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, k := range []string{"x", "y", "z", "public##DEFAULT_GROUP@@orders"} {
		m, ok := good.Owner(k)
		if want := ms[Partition(k, 7)%2]; !ok || m != want {
			t.Fatalf("Owner(%q): got %v %v, want %v", k, m, ok, want)
		}
	}
	empty := Ring{Partitions: 7, Hash: HashXXHash64}
	if err := empty.Validate(); err != nil {
		t.Fatalf("empty ring: %v", err)
	}
	if _, ok := empty.Owner("x"); ok {
		t.Fatal("empty ring has an owner")
	}
	for name, mut := range map[string]func(*Ring){
		"hash":       func(r *Ring) { r.Hash = "md5" },
		"partitions": func(r *Ring) { r.Partitions = 0 },
		"short":      func(r *Ring) { r.Owners = r.Owners[:6] },
		"range":      func(r *Ring) { r.Owners = append([]int{2}, r.Owners[1:]...) },
		"negative":   func(r *Ring) { r.Owners = append([]int{-1}, r.Owners[1:]...) },
	} {
		r := good
		mut(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, r)
		}
		if name != "range" && name != "negative" {
			if _, ok := r.Owner("x"); ok {
				t.Errorf("%s: Owner answered from an invalid ring", name)
			}
		}
	}
}

// TestRing_json pins the field names of the ring view.
func TestRing_json(t *testing.T) {
	b, err := json.Marshal(Ring{Version: 2, Partitions: 1, Hash: HashXXHash64,
		Members: []RingMember{{Name: "n1", HTTPAddr: "127.0.0.1:8848", Epoch: 9}}, Owners: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":2,"partitions":1,"hash":"xxhash64","members":[{"name":"n1","httpAddr":"127.0.0.1:8848","epoch":9}],"owners":[0]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Members{Self: "n1", Ring: RingInfo{Partitions: 4093, Hash: HashXXHash64, Version: 2}})
	if !strings.Contains(string(b), `"ring":{"partitions":4093,"hash":"xxhash64","version":2}`) {
		t.Fatalf("members: %s", b)
	}
}
