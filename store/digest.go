package store

import (
	"slices"
)

// Anti-entropy support. Each partition keeps a digest: the XOR of a hash
// of every record in it (tombstones included). XOR makes the digest
// incremental (a change XORs the old record's hash out and the new one's
// in) and independent of the order records arrived in, so two replicas
// holding the same records have the same digests, and comparing digests
// costs 8 bytes per partition whatever the registry size.

// partitionOf returns the partition of service k.
func (s *Store) partitionOf(k Key) int {
	if s.cfg.Partition == nil {
		return 0
	}
	p := s.cfg.Partition(k)
	if p < 0 || p >= len(s.digests) {
		return 0
	}
	return p
}

// instanceHash identifies one version of an instance record.
func instanceHash(k Key, in *Instance) uint64 {
	h := newFNV().key(k).str(in.Cluster).byte(0).str(in.IP).byte(0)
	return uint64(h.version(in.Port, in.Version, in.Deleted))
}

// serviceHash identifies one version of a service record.
func serviceHash(k Key, info *ServiceInfo) uint64 {
	return uint64(newFNV().key(k).byte(1).version(0, info.Version, info.Deleted))
}

// fnv64 is a 64-bit FNV-1a hash being computed (hash/fnv's New64a, whose
// results every replica must agree on, without its allocations: a write
// computes several).
type fnv64 uint64

const fnvPrime64 = 1099511628211

func newFNV() fnv64 { return 14695981039346656037 }

func (h fnv64) byte(b byte) fnv64 { return (h ^ fnv64(b)) * fnvPrime64 }

func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv64(s[i])) * fnvPrime64
	}
	return h
}

// u64 hashes v's 8 bytes, little-endian.
func (h fnv64) u64(v uint64) fnv64 {
	for range 8 {
		h = (h ^ fnv64(byte(v))) * fnvPrime64
		v >>= 8
	}
	return h
}

// key hashes k's names, each followed by a zero byte.
func (h fnv64) key(k Key) fnv64 {
	return h.str(k.Namespace).byte(0).str(k.Group).byte(0).str(k.Service).byte(0)
}

// version hashes a record's port, version and deletion.
func (h fnv64) version(port int, v Version, deleted bool) fnv64 {
	h = h.u64(uint64(port)).u64(uint64(v.Clock))
	if deleted {
		h = h.byte(1)
	} else {
		h = h.byte(0)
	}
	return h.str(v.Node)
}

// flipLocked adds or removes the hash h of a version of record id in
// partition p's digest and in the sub-digest of id's bucket (subdigest.go).
func (s *Store) flipLocked(p int, id, h uint64) {
	s.digests[p] ^= h
	s.flipSubLocked(p, id, h)
}

// Digests returns a copy of the per-partition digests.
func (s *Store) Digests() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.digests)
}

// PartitionRecords returns a copy of every record (tombstones included) of
// the services in the given partitions.
func (s *Store) PartitionRecords(partitions []int) []Record {
	return s.partitionRecords(partitions, nil)
}

// partitionRecords returns copies of the records of partitions, sorted;
// with ids, only those whose ID is in it.
func (s *Store) partitionRecords(partitions []int, ids map[uint64]bool) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	seen := make(map[int]bool, len(partitions))
	for _, p := range partitions {
		if seen[p] {
			continue
		}
		seen[p] = true
		for _, svc := range s.byPart[p] {
			out = svc.appendRecordsLocked(out, ids)
		}
	}
	slices.SortFunc(out, compareRecords)
	return out
}

// appendRecordsLocked appends copies of svc's records to out; with ids,
// only those whose ID is in it.
func (svc *service) appendRecordsLocked(out []Record, ids map[uint64]bool) []Record {
	if svc.hasInfo && (ids == nil || ids[serviceID(svc.key)]) {
		info := cloneInfo(svc.info)
		out = append(out, Record{Key: svc.key, Service: &info})
	}
	for _, e := range svc.entries {
		if ids == nil || ids[e.id] {
			in := e.inst.clone()
			out = append(out, Record{Key: svc.key, Instance: &in})
		}
	}
	return out
}
