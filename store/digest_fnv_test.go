package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"
)

// The hashes as they were computed with hash/fnv: every replica, old
// builds included, must compute the same values, or anti-entropy would
// see every record as different.

func fnvInstanceHash(k Key, in *Instance) uint64 {
	h := fnv.New64a()
	fnvKey(h, k)
	h.Write([]byte(in.Cluster))
	h.Write([]byte{0})
	h.Write([]byte(in.IP))
	h.Write([]byte{0})
	fnvVersion(h, in.Port, in.Version, in.Deleted)
	return h.Sum64()
}

func fnvServiceHash(k Key, info *ServiceInfo) uint64 {
	h := fnv.New64a()
	fnvKey(h, k)
	h.Write([]byte{1})
	fnvVersion(h, 0, info.Version, info.Deleted)
	return h.Sum64()
}

func fnvInstanceID(k Key, ik InstanceKey) uint64 {
	h := fnv.New64a()
	fnvKey(h, k)
	h.Write([]byte{0})
	h.Write([]byte(ik.Cluster))
	h.Write([]byte{0})
	h.Write([]byte(ik.IP))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ik.Port))
	h.Write(b[:])
	return h.Sum64()
}

func fnvServiceID(k Key) uint64 {
	h := fnv.New64a()
	fnvKey(h, k)
	h.Write([]byte{1})
	return h.Sum64()
}

func fnvKey(h interface{ Write([]byte) (int, error) }, k Key) {
	for _, s := range []string{k.Namespace, k.Group, k.Service} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
}

func fnvVersion(h interface{ Write([]byte) (int, error) }, port int, v Version, deleted bool) {
	var b [17]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(port))
	binary.LittleEndian.PutUint64(b[8:], uint64(v.Clock))
	if deleted {
		b[16] = 1
	}
	h.Write(b[:])
	h.Write([]byte(v.Node))
}

// TestDigest_hashesAsHashFNV checks the record hashes and IDs against
// hash/fnv over keys, addresses, ports, clocks and node names of every
// kind, and that computing them allocates nothing.
func TestDigest_hashesAsHashFNV(t *testing.T) {
	names := []string{"", "public", "DEFAULT_GROUP", "svc-ü€", "a\x00b", fmt.Sprint(make([]byte, 40))}
	for i, ns := range names {
		for j, svc := range names {
			k := Key{Namespace: ns, Group: names[(i+j)%len(names)], Service: svc}
			in := Instance{InstanceKey: InstanceKey{Cluster: names[j], IP: "10.0.0." + fmt.Sprint(i), Port: i*7919 - 3},
				Version: Version{Clock: int64(j)*1e18 - int64(i), Node: names[i]}, Deleted: (i+j)%2 == 0}
			info := ServiceInfo{Version: in.Version, Deleted: !in.Deleted}
			if got, want := instanceHash(k, &in), fnvInstanceHash(k, &in); got != want {
				t.Errorf("instanceHash(%q, %+v) = %x, want %x", k, in, got, want)
			}
			if got, want := serviceHash(k, &info), fnvServiceHash(k, &info); got != want {
				t.Errorf("serviceHash(%q) = %x, want %x", k, got, want)
			}
			if got, want := instanceID(k, in.InstanceKey), fnvInstanceID(k, in.InstanceKey); got != want {
				t.Errorf("instanceID(%q, %+v) = %x, want %x", k, in.InstanceKey, got, want)
			}
			if got, want := serviceID(k), fnvServiceID(k); got != want {
				t.Errorf("serviceID(%q) = %x, want %x", k, got, want)
			}
		}
	}
	k := Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "svc"}
	in := Instance{InstanceKey: InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 8080}, Version: Version{Clock: 1, Node: "n1"}}
	if allocs := testing.AllocsPerRun(100, func() { _ = instanceHash(k, &in) + instanceID(k, in.InstanceKey) }); allocs != 0 {
		t.Errorf("%.0f allocations per hash, want 0", allocs)
	}
}
