// Package store holds the registry in memory: namespaces, groups, services,
// clusters and instances, each record stamped with a Version that orders
// writes the same way on every node.
//
// Design:
//
//   - Writes take the store's single mutex, stamp a version from a hybrid
//     logical clock (wall nanoseconds, bumped past anything seen, node name as
//     tie-break) and apply through the same merge rule used for remote
//     records: a record replaces another only if its version is newer.
//     Deletions leave tombstones that are reaped after a TTL, so a late, older
//     write cannot bring a deleted instance back. Merge is a join on a
//     lattice: any set of records applied in any order, with duplicates,
//     yields the same state.
//   - Reads never take the mutex. Each service publishes an immutable
//     Snapshot through an atomic pointer, replaced on every change; a
//     snapshot caches encoded responses, so a hot read is a lookup plus a
//     write of cached bytes. A snapshot's Changed channel closes when it is
//     replaced, which is what blocking queries wait on.
//   - A change index, global and per service, increases with every applied
//     change.
//   - Heartbeat expiry uses a min-heap of deadlines with lazy invalidation:
//     a beat only moves the instance's last-beat time, and the heap entry is
//     re-checked when it comes due, so beats cost O(1) and each instance costs
//     at most a couple of heap operations per timeout period. The beat and
//     delete deadlines are independent, both counted from the last beat;
//     deadline arithmetic saturates, and a deadline past the clock's range
//     is never and gets no heap entry.
//
// The store is pure: no sockets, and time comes from Config.Now.
package store
