package store

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Record summaries, for anti-entropy. When a partition's digests differ,
// the two replicas compare summaries before moving any record: one entry
// per record naming which record it is, which version, and when that
// version was written. The difference between two replicas under steady
// writes is almost all deltas still in flight, which the comparison can
// tell by the age of the newer version; what remains is the few records a
// replica really missed, and only those travel. Pulling and pushing whole
// partitions instead cost as much as replication itself under sustained
// registration (a CPU profile of `roster bench register`).

// SummaryEntry names one version of one record.
type SummaryEntry struct {
	// ID identifies the record: a hash of its service key and, for an
	// instance, its instance key.
	ID uint64
	// Clock is the version's hybrid-logical-clock reading.
	Clock int64
	// Hash identifies the version, as the partition digest counts it.
	Hash uint64
}

// SummaryEntryBytes is the size of an encoded SummaryEntry.
const SummaryEntryBytes = 24

// AppendSummary appends es in a fixed little-endian layout of
// SummaryEntryBytes each.
func AppendSummary(b []byte, es []SummaryEntry) []byte {
	for _, e := range es {
		b = binary.LittleEndian.AppendUint64(b, e.ID)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Clock))
		b = binary.LittleEndian.AppendUint64(b, e.Hash)
	}
	return b
}

// ParseSummary decodes what AppendSummary wrote; a trailing partial entry
// is an error.
func ParseSummary(b []byte) ([]SummaryEntry, bool) {
	if len(b)%SummaryEntryBytes != 0 {
		return nil, false
	}
	out := make([]SummaryEntry, len(b)/SummaryEntryBytes)
	for i := range out {
		e := b[i*SummaryEntryBytes:]
		out[i] = SummaryEntry{ID: binary.LittleEndian.Uint64(e), Clock: int64(binary.LittleEndian.Uint64(e[8:])),
			Hash: binary.LittleEndian.Uint64(e[16:])}
	}
	return out, true
}

// instanceID identifies instance ik of service k, whatever its version.
func instanceID(k Key, ik InstanceKey) uint64 {
	return uint64(newFNV().key(k).byte(0).str(ik.Cluster).byte(0).str(ik.IP).u64(uint64(ik.Port)))
}

// serviceID identifies the service record of k, whatever its version.
func serviceID(k Key) uint64 {
	return uint64(newFNV().key(k).byte(1))
}

// Summaries returns, for each of partitions in order, one entry per
// record of its services (tombstones included), sorted by ID.
func (s *Store) Summaries(partitions []int) [][]SummaryEntry {
	return s.SummariesIn(partitions, nil)
}

// SummariesIn is Summaries of only the records in the sub-digest buckets
// (subdigest.go) each partition's mask names; a nil masks names all.
func (s *Store) SummariesIn(partitions []int, masks []uint64) [][]SummaryEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]SummaryEntry, len(partitions))
	for i, p := range partitions {
		mask := AllBuckets
		if masks != nil {
			mask = masks[i]
		}
		if mask == 0 {
			continue
		}
		in := func(id uint64) bool { return mask&(1<<subBucket(id)) != 0 }
		var es []SummaryEntry
		for _, svc := range s.byPart[p] {
			if svc.hasInfo {
				if id := serviceID(svc.key); in(id) {
					es = append(es, SummaryEntry{ID: id, Clock: svc.info.Version.Clock, Hash: serviceHash(svc.key, &svc.info)})
				}
			}
			for _, e := range svc.entries {
				if in(e.id) {
					es = append(es, SummaryEntry{ID: e.id, Clock: e.inst.Version.Clock, Hash: e.hash})
				}
			}
		}
		slices.SortFunc(es, func(a, b SummaryEntry) int { return cmp.Compare(a.ID, b.ID) })
		out[i] = es
	}
	return out
}

// RecordsByID returns copies of the records of partitions whose IDs are
// in ids, sorted as PartitionRecords sorts.
func (s *Store) RecordsByID(partitions []int, ids map[uint64]bool) []Record {
	if ids == nil {
		ids = map[uint64]bool{}
	}
	return s.partitionRecords(partitions, ids)
}
