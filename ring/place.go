package ring

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// place returns the owner index of every partition for members, which
// must be sorted by name: the placement of github.com/buraksezer/consistent
// v1.0.0 (consistent.New, then GetPartitionOwner), which every node must
// agree on, computed with one sort of the circle instead of one per member.
//
// The circle has ReplicationFactor points per member, the hash of
// "<i>:<name>"; on a hash shared by two points the later member (in name
// order) holds it, and the point counts twice. Partition p starts at the
// first point at or after the hash of p as 8 little-endian bytes (wrapping
// around) and goes to the first member along the circle that owns fewer than
// ceil(PartitionCount / len(members) × Load) partitions so far, partitions
// taken in increasing order. consistent.New re-sorts the whole circle after
// adding each member, O(N² × ReplicationFactor × log): 30 ms for 100
// members on a fast idle core, and every node rebuilt its ring on every
// join, departure and readiness change. TestPlace_matchesLibrary checks the
// two agree.
//
// A custom Hasher that panics makes place return an error wrapping
// ErrPlacement, as does one whose collisions leave no room.
func (r *Ring) place(members []Member) (owners []int32, err error) {
	defer func() {
		if v := recover(); v != nil {
			owners, err = nil, fmt.Errorf("%w: %d members: %v", ErrPlacement, len(members), v)
		}
	}()
	h := r.cfg.Hasher
	points := make([]uint64, 0, len(members)*r.cfg.ReplicationFactor)
	holder := make(map[uint64]int32, cap(points))
	var key []byte
	for i, m := range members {
		for rep := range r.cfg.ReplicationFactor {
			key = append(strconv.AppendInt(key[:0], int64(rep), 10), ':')
			key = append(key, m.Name...)
			p := h(key)
			holder[p] = int32(i)
			points = append(points, p)
		}
	}
	slices.Sort(points)
	limit := math.Ceil(float64(r.cfg.PartitionCount) / float64(len(members)) * r.cfg.Load)
	loads := make([]float64, len(members))
	owners = make([]int32, r.cfg.PartitionCount)
	var pb [8]byte
	for part := range owners {
		binary.LittleEndian.PutUint64(pb[:], uint64(part))
		idx, _ := slices.BinarySearch(points, h(pb[:]))
		placed := false
		for range len(points) {
			if idx >= len(points) {
				idx = 0
			}
			o := holder[points[idx]]
			if loads[o]+1 <= limit {
				owners[part], placed = o, true
				loads[o]++
				break
			}
			idx++
		}
		if !placed {
			return nil, fmt.Errorf("%w: %d members: no room for partition %d", ErrPlacement, len(members), part)
		}
	}
	return owners, nil
}
