package store

import "encoding/binary"

// Sub-digests. A partition's digest tells that two replicas differ, not
// where. Under sustained writes nearly every written partition differs by
// the deltas in flight, and an exchange that compared each such partition
// by the summaries of all its records cost the agents about a tenth of
// their CPU at 250,000 instances (performance.md). So each partition also
// keeps SubBuckets sub-digests: the XOR of its records' hashes by bucket
// of record ID (the ID, not the version, so every version of a record
// lands in one bucket). An exchange sends its sub-digests of the
// partitions that differ, and only the buckets that differ are
// summarized on either side.

// SubBuckets is the number of sub-digests per partition.
const SubBuckets = 64

// SubBytes is the size of a partition's encoded sub-digests.
const SubBytes = SubBuckets * 8

// AllBuckets is the mask of every bucket.
const AllBuckets = ^uint64(0)

// subMinRecords is the fewest records a partition needs for its
// sub-digests to be sent: a summary of fewer is smaller than they are.
const subMinRecords = SubBuckets / 2

// subBucket returns the bucket of record id.
func subBucket(id uint64) uint { return uint(id >> 58) }

// flipSubLocked adds or removes hash h of record id in partition p's
// sub-digests, allocating them at the partition's first record.
func (s *Store) flipSubLocked(p int, id, h uint64) {
	if s.subs == nil {
		s.subs = make([]*[SubBuckets]uint64, len(s.digests))
	}
	if s.subs[p] == nil {
		s.subs[p] = new([SubBuckets]uint64)
	}
	s.subs[p][subBucket(id)] ^= h
}

// SubDigests returns, for each of partitions in order, its sub-digests
// encoded (SubBytes, little-endian), or nil when the partition holds too
// few records for them to be worth sending.
func (s *Store) SubDigests(partitions []int) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(partitions))
	for i, p := range partitions {
		if s.recordsInLocked(p) < subMinRecords {
			continue
		}
		out[i] = appendSubs(make([]byte, 0, SubBytes), s.subsLocked(p))
	}
	return out
}

// DiffSubs returns, for each of partitions in order, the mask of the
// buckets whose sub-digests differ from theirs (encoded as SubDigests
// encodes them); AllBuckets where theirs is empty. It reports false if
// an entry of theirs is neither empty nor SubBytes long.
func (s *Store) DiffSubs(partitions []int, theirs [][]byte) ([]uint64, bool) {
	if len(theirs) != len(partitions) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	masks := make([]uint64, len(partitions))
	for i, p := range partitions {
		switch len(theirs[i]) {
		case 0:
			masks[i] = AllBuckets
			continue
		case SubBytes:
		default:
			return nil, false
		}
		mine := s.subsLocked(p)
		for b := range SubBuckets {
			if mine[b] != binary.LittleEndian.Uint64(theirs[i][b*8:]) {
				masks[i] |= 1 << b
			}
		}
	}
	return masks, true
}

// subsLocked returns partition p's sub-digests (all zero if it never held
// a record).
func (s *Store) subsLocked(p int) *[SubBuckets]uint64 {
	if s.subs == nil || s.subs[p] == nil {
		return new([SubBuckets]uint64)
	}
	return s.subs[p]
}

// recordsInLocked counts the records (tombstones included) of partition p.
func (s *Store) recordsInLocked(p int) int {
	n := 0
	for _, svc := range s.byPart[p] {
		n += len(svc.entries)
		if svc.hasInfo {
			n++
		}
	}
	return n
}

func appendSubs(b []byte, subs *[SubBuckets]uint64) []byte {
	for _, d := range subs {
		b = binary.LittleEndian.AppendUint64(b, d)
	}
	return b
}
