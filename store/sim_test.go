package store

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// simReplica is one node of the replication simulation.
type simReplica struct {
	id  int
	clk *fakeClock
	s   *Store
	// last is the newest version this replica wrote or applied; every
	// write it makes must be newer.
	last Version
}

// simMsg is a record in flight to a replica.
type simMsg struct {
	due int // step of delivery
	to  int
	rec Record
}

// simNet delivers records between replicas with random delay, reordering
// and duplication, and no loss.
type simNet struct {
	t        *testing.T
	rng      *rand.Rand
	replicas []*simReplica
	inflight []simMsg
	sent     []Record // every record written anywhere
}

func (n *simNet) send(step, from int, rec Record) {
	for to := range n.replicas {
		if to == from {
			continue
		}
		copies := 1
		if n.rng.IntN(10) == 0 {
			copies = 2
		}
		for range copies {
			n.inflight = append(n.inflight, simMsg{due: step + n.rng.IntN(40), to: to, rec: rec})
		}
	}
}

// written records local writes of replica r, checking their versions.
func (n *simNet) written(step int, r *simReplica, recs ...Record) {
	n.t.Helper()
	for _, rec := range recs {
		v := versionOf(rec)
		if !r.last.Less(v) || v.Node != r.s.cfg.Node {
			n.t.Fatalf("step %d: replica %d wrote %s, want a version of %s newer than %v", step, r.id, fmtRecord(rec), r.s.cfg.Node, r.last)
		}
		r.last = v
		n.sent = append(n.sent, rec)
		n.send(step, r.id, rec)
	}
}

// deliver applies every message due by step (all when step < 0) in random
// order.
func (n *simNet) deliver(step int) {
	var due []simMsg
	n.inflight = slices.DeleteFunc(n.inflight, func(m simMsg) bool {
		if step < 0 || m.due <= step {
			due = append(due, m)
			return true
		}
		return false
	})
	n.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	for _, m := range due {
		r := n.replicas[m.to]
		if mergeRecord(r.s, m.rec) {
			if v := versionOf(m.rec); r.last.Less(v) {
				r.last = v
			}
		}
	}
}

func instRecord(k Key, in Instance) Record   { return Record{Key: k, Instance: &in} }
func infoRecord(k Key, i ServiceInfo) Record { return Record{Key: k, Service: &i} }
func simOwner(k Key, replicas int) int       { return len(k.Service) % replicas }
func simKey(rng *rand.Rand) Key {
	return []Key{svcA, svcB, svcC, {DefaultNamespace, DefaultGroup, "dd"}}[rng.IntN(4)]
}
func simIK(rng *rand.Rand) InstanceKey { return ik("10.0.0."+strconv.Itoa(1+rng.IntN(6)), 80) }
func simDuration(rng *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond
}

// simOp makes one random local write on r and returns what it wrote.
func simOp(rng *rand.Rand, r *simReplica, replicas int) (string, []Record) {
	s := r.s
	k, id := simKey(rng), simIK(rng)
	switch op := rng.IntN(100); {
	case op < 30:
		in := inst(id.IP, id.Port)
		in.Ephemeral = rng.IntN(7) > 0
		in.Weight = float64(rng.IntN(5))
		in.Metadata = map[string]string{"w": strconv.Itoa(rng.IntN(1000))}
		in.BeatTimeout = simDuration(rng, 50, 300)
		in.DeleteTimeout = in.BeatTimeout + simDuration(rng, 0, 300)
		if got, err := s.Register(k, in); err == nil {
			return "register", []Record{instRecord(k, got)}
		}
	case op < 40:
		got, err := s.Update(k, id, func(in *Instance) {
			switch rng.IntN(3) {
			case 0:
				in.Healthy = false
			case 1:
				in.Weight++
			default:
				in.Metadata["u"] = strconv.Itoa(rng.IntN(1000))
			}
		})
		if err == nil {
			return "update", []Record{instRecord(k, got)}
		}
	case op < 50:
		// A deregistration of an instance this replica does not hold still
		// writes a tombstone (the registration may be in flight), which
		// must be delivered like any write.
		if got, err := s.Deregister(k, id); err == nil || errors.Is(err, ErrNotFound) {
			return "deregister", []Record{instRecord(k, got)}
		}
	case op < 70:
		if res, err := s.Beat(k, id); err == nil && res.Changed {
			return "heal", []Record{instRecord(k, res.Instance)}
		}
	case op < 75:
		if got, err := s.CreateService(k, ServiceInfo{ProtectThreshold: 0.5}); err == nil {
			return "create service", []Record{infoRecord(k, got)}
		}
	case op < 80:
		got, err := s.UpdateService(k, func(i *ServiceInfo) { i.ProtectThreshold = float64(rng.IntN(10)) / 10 })
		if err == nil {
			return "update service", []Record{infoRecord(k, got)}
		}
	case op < 85: // drain the service, then delete it
		var out []Record
		for _, in := range s.Snapshot(k).Instances {
			if got, err := s.Deregister(k, in.InstanceKey); err == nil {
				out = append(out, instRecord(k, got))
			}
		}
		if got, err := s.DeleteService(k); err == nil {
			return "delete service", append(out, infoRecord(k, got))
		}
		return "deregister", out
	default:
		var out []Record
		for _, tr := range s.Sweep(func(k Key) bool { return simOwner(k, replicas) == r.id }) {
			if tr.Instance.Deleted != tr.Removed {
				panic("transition Removed disagrees with its record")
			}
			out = append(out, instRecord(tr.Key, tr.Instance))
		}
		return "expire", out
	}
	return "", nil
}

// TestSimulation_replicasConverge runs replicas with skewed, sometimes
// backwards clocks that write locally (register, update, deregister,
// beats that heal, service writes, expiry sweeps of the services each
// owns) and exchange their writes over a network that delays, reorders and
// duplicates, plus occasional full-state anti-entropy pushes. Once
// everything is delivered, every replica must hold the same records: the
// newest write of every slot.
func TestSimulation_replicasConverge(t *testing.T) {
	seed := testSeed(t)
	for run := range 4 {
		t.Run(strconv.Itoa(run), func(t *testing.T) {
			rng := newRand(seed + uint64(run))
			const nReplicas = 4
			net := &simNet{t: t, rng: rng}
			for i := range nReplicas {
				clk := newFakeClock()
				clk.Advance(simDuration(rng, -50, 50)) // clock skew
				net.replicas = append(net.replicas, &simReplica{id: i, clk: clk, s: newTestStore(t, "n"+strconv.Itoa(i), clk)})
			}
			steps := 3000
			if raceEnabled {
				steps = 1500
			}
			ops := map[string]int{}
			for step := range steps {
				net.deliver(step)
				r := net.replicas[rng.IntN(nReplicas)]
				if rng.IntN(20) == 0 {
					r.clk.Advance(-simDuration(rng, 0, 10))
				} else {
					r.clk.Advance(simDuration(rng, 0, 20))
				}
				op, recs := simOp(rng, r, nReplicas)
				if op != "" {
					ops[op] += len(recs)
				}
				net.written(step, r, recs...)
				if rng.IntN(50) == 0 { // anti-entropy push to one peer
					to := rng.IntN(nReplicas)
					for _, rec := range r.s.Records() {
						if to != r.id {
							net.inflight = append(net.inflight, simMsg{due: step + rng.IntN(40), to: to, rec: rec})
						}
					}
				}
			}
			net.deliver(-1)

			want := maxRecords(net.sent)
			for _, r := range net.replicas {
				if d := diffRecords(r.s.Records(), want); d != "" {
					t.Fatalf("replica %d after delivery: %s", r.id, d)
				}
				checkSnapshots(t, r.s)
			}
			var live, dead int
			for _, rec := range want {
				if rec.Instance != nil && rec.Instance.Deleted {
					dead++
				} else if rec.Instance != nil {
					live++
				}
			}
			t.Logf("writes %v; %d records (%d live instances, %d instance tombstones)", ops, len(want), live, dead)
			for _, op := range []string{"register", "update", "deregister", "heal", "create service", "update service", "delete service", "expire"} {
				if ops[op] == 0 {
					t.Errorf("no %q writes: the simulation does not exercise them", op)
				}
			}
		})
	}
}
