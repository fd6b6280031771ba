// Package ring decides which member of the cluster is responsible for a key.
//
// It places partitions as github.com/buraksezer/consistent v1.0.0 does
// (place.go computes the same table, faster), consistent hashing with
// bounded loads: keys hash (xxhash by default) to one of a fixed number of
// partitions, and each partition is owned by exactly one member. Every member
// appears ReplicationFactor times on a hash circle; a partition goes to the
// first member clockwise from its hash that holds fewer than
// ceil(Load × partitions / members) partitions.
//
// The ring is a pure function of its member names: Set rebuilds the partition
// table from scratch from the members sorted by name, so every node that sees
// the same members computes the same owners, whatever order they were learned
// in and whatever the ring held before. Reads are lock-free: Set publishes an
// immutable snapshot that readers load atomically.
//
// # Choice of constants
//
// The defaults (see DefaultConfig) are sized for clusters of 1 to 100 members
// and were measured with member sets from 1 to 101 (names such as node1,
// node11, node111, node2, ... and 16 sets of random names):
//
//   - Load 1.2 caps every member at ceil(1.2 × partitions/members) partitions.
//     The cap is exactly what bounds the balance, so the worst member owns at
//     most 1.2 × average plus the rounding of the ceiling.
//   - PartitionCount 4093 (a prime) keeps at least 40 partitions per member at
//     100 members, so the ceiling adds at most 1/40: max/avg stays at or below
//     1.23 for every size from 1 to 100 (the library's defaults, 271
//     partitions and load 1.25, give up to 1.55).
//     Keys spread over partitions by hash modulo the count; anti-entropy can
//     keep one digest per partition, so the count is also the digest size
//     (4093 × 8 bytes = 32 KiB).
//   - ReplicationFactor 64 sets how evenly the circle itself is cut. Bounded
//     loads recompute the whole table, so when the cap binds some partitions
//     spill between old members as well as moving to a new one. With 64
//     replicas, adding one member to N moves at most 1.8 × the ideal
//     partitions/(N+1) in every measured set (1.9 with 50 replicas, 11 with
//     the library defaults), and moves between old members stay at or below
//     0.6 × the ideal. Removing a member moves exactly the same partitions.
//
// # Cost
//
// consistent.New re-sorts the whole circle after adding each member, so
// building its table costs O(N² × ReplicationFactor × log): 30 ms for 100
// members (AMD EPYC, one core). Set computes the same placement with one
// sort of the circle (place.go), O(N × ReplicationFactor × log) plus the
// walk of the partitions: about 2 ms for 100 members. Set skips the rebuild when the member names have not changed (a new
// Addr or Epoch only refreshes the snapshot), so only joins and departures pay
// it; callers that see bursts of membership events should coalesce them.
// Owner is a hash, a modulo and two slice loads: about 20 ns, no allocation.
//
// Beyond about 200 members the default partition count leaves fewer than 20
// partitions per member, so the rounding of the cap can push max/avg above
// 1.25; raise PartitionCount for larger clusters.
package ring
