package store

import (
	"encoding/binary"
	"hash/fnv"
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
	h := fnv.New64a()
	writeKey(h, k)
	h.Write([]byte(in.Cluster))
	h.Write([]byte{0})
	h.Write([]byte(in.IP))
	h.Write([]byte{0})
	writeVersion(h, in.Port, in.Version, in.Deleted)
	return h.Sum64()
}

// serviceHash identifies one version of a service record.
func serviceHash(k Key, info *ServiceInfo) uint64 {
	h := fnv.New64a()
	writeKey(h, k)
	h.Write([]byte{1})
	writeVersion(h, 0, info.Version, info.Deleted)
	return h.Sum64()
}

type byteWriter interface{ Write([]byte) (int, error) }

func writeKey(h byteWriter, k Key) {
	for _, s := range []string{k.Namespace, k.Group, k.Service} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
}

func writeVersion(h byteWriter, port int, v Version, deleted bool) {
	var b [17]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(port))
	binary.LittleEndian.PutUint64(b[8:], uint64(v.Clock))
	if deleted {
		b[16] = 1
	}
	h.Write(b[:])
	h.Write([]byte(v.Node))
}

// flipLocked adds or removes a record's hash h in partition p's digest.
func (s *Store) flipLocked(p int, h uint64) {
	s.digests[p] ^= h
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
