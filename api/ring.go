package api

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// The ring view. Every node owns the services whose partitions the
// cluster's consistent-hash ring gives it. A key's partition is
// xxhash64(ServiceKey(...)) modulo the partition count; the placement of
// partitions on members is the server's business, so the server publishes
// the result, GET /v1/cluster/ring, and a client looks owners up in it
// without knowing how the ring was built.

// HashXXHash64 names the hash of keys to partitions: xxhash64 (XXH64,
// seed 0) of the key's bytes.
const HashXXHash64 = "xxhash64"

// RingInfo describes a node's ring in GET /v1/cluster/members. Version
// grows by one every time the ring's members change on that node; the
// versions of different nodes are not comparable.
type RingInfo struct {
	Partitions int    `json:"partitions"`
	Hash       string `json:"hash"`
	Version    uint64 `json:"version"`
}

// RingMember is a member of the ring: the members that serve (alive, with
// an HTTP address), sorted by name.
type RingMember struct {
	Name     string `json:"name"`
	HTTPAddr string `json:"httpAddr"`
	Epoch    int64  `json:"epoch"`
}

// Ring is the answer to GET /v1/cluster/ring: the whole ownership table of
// the answering node. Owners[p] is the index in Members of partition p's
// owner. An empty ring (no members, no owners) means the node knows no
// owner: it runs without gossip, or has seen no synced member yet.
type Ring struct {
	Version    uint64       `json:"version"`
	Partitions int          `json:"partitions"`
	Hash       string       `json:"hash"`
	Members    []RingMember `json:"members"`
	Owners     []int        `json:"owners"`
}

// Partition returns the partition key hashes to among partitions (which
// must be positive): xxhash64(key) mod partitions.
func Partition(key string, partitions int) int {
	return int(xxhash.Sum64String(key) % uint64(partitions))
}

// Validate reports whether r is a table this package can look owners up
// in: a known hash, a positive partition count, and either no members and
// no owners or an owner in range for every partition.
func (r *Ring) Validate() error {
	switch {
	case r.Hash != HashXXHash64:
		return fmt.Errorf("api: ring: unknown hash %q (want %q)", r.Hash, HashXXHash64)
	case r.Partitions < 1:
		return fmt.Errorf("api: ring: partition count %d is not positive", r.Partitions)
	case len(r.Members) == 0 && len(r.Owners) == 0:
		return nil
	case len(r.Owners) != r.Partitions:
		return fmt.Errorf("api: ring: %d owners for %d partitions", len(r.Owners), r.Partitions)
	}
	for p, o := range r.Owners {
		if o < 0 || o >= len(r.Members) {
			return fmt.Errorf("api: ring: owner %d of partition %d is not one of the %d members", o, p, len(r.Members))
		}
	}
	return nil
}

// Owner returns the member that owns key (a ServiceKey), or false when the
// ring is empty or not valid.
func (r *Ring) Owner(key string) (RingMember, bool) {
	if r.Hash != HashXXHash64 || r.Partitions < 1 || len(r.Owners) != r.Partitions {
		return RingMember{}, false
	}
	o := r.Owners[Partition(key, r.Partitions)]
	if o < 0 || o >= len(r.Members) {
		return RingMember{}, false
	}
	return r.Members[o], true
}
