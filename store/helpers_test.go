package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Config.Now. It is safe for concurrent
// use.
type fakeClock struct {
	// mu guards now.
	mu  sync.Mutex
	now time.Time
}

// epoch is where every fake clock starts.
var epoch = time.Unix(1_700_000_000, 0)

// ev returns a version clock n nanoseconds after epoch: recent enough that
// a tombstone with it is not taken as already reaped.
func ev(n int64) int64 { return epoch.UnixNano() + n }

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

// Now returns the fake time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (which may be negative) and returns the new
// time.
func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newTestStore returns a store named node on clk with a 1m tombstone TTL.
func newTestStore(tb testing.TB, node string, clk *fakeClock) *Store {
	tb.Helper()
	s, err := New(Config{Node: node, Now: clk.Now, TombstoneTTL: time.Minute})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// testSeed returns the seed of a randomized test: STORE_SEED if set, else
// a fresh one. The seed is logged if the test fails.
func testSeed(tb testing.TB) uint64 {
	tb.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("STORE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("STORE_SEED=%q: %v", v, err)
		}
		seed = n
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("seed %d (rerun with STORE_SEED=%d)", seed, seed)
		}
	})
	return seed
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

var (
	svcA = Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "a"}
	svcB = Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "b"}
	svcC = Key{Namespace: "dev", Group: "g2", Service: "c"}
)

// ik returns the instance key ip:port in the default cluster.
func ik(ip string, port int) InstanceKey {
	return InstanceKey{Cluster: DefaultCluster, IP: ip, Port: port}
}

// inst returns a healthy, enabled, ephemeral instance at ip:port.
func inst(ip string, port int) Instance {
	return Instance{InstanceKey: ik(ip, port), Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}
}

func mustRegister(tb testing.TB, s *Store, k Key, in Instance) Instance {
	tb.Helper()
	got, err := s.Register(k, in)
	if err != nil {
		tb.Fatalf("Register(%v, %v): %v", k, in.InstanceKey, err)
	}
	return got
}

// fmtRecord formats a record for failure messages.
func fmtRecord(r Record) string {
	if r.Service != nil {
		return fmt.Sprintf("%s service %+v", r.Key, *r.Service)
	}
	return fmt.Sprintf("%s instance %+v", r.Key, *r.Instance)
}

// normalize returns records as Records returns them: sorted, with non-nil
// metadata maps.
func normalize(recs []Record) []Record {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		if r.Service != nil {
			info := cloneInfo(*r.Service)
			out = append(out, Record{Key: r.Key, Service: &info})
		} else {
			in := r.Instance.clone()
			out = append(out, Record{Key: r.Key, Instance: &in})
		}
	}
	slices.SortFunc(out, compareRecords)
	return out
}

// diffRecords describes how got differs from want, or returns "".
func diffRecords(got, want []Record) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	msg := fmt.Sprintf("got %d records, want %d", len(got), len(want))
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			msg += fmt.Sprintf("\n  [%d] missing, want %s", i, fmtRecord(want[i]))
		case i >= len(want):
			msg += fmt.Sprintf("\n  [%d] extra %s", i, fmtRecord(got[i]))
		case !reflect.DeepEqual(got[i], want[i]):
			msg += fmt.Sprintf("\n  [%d] got %s\n       want %s", i, fmtRecord(got[i]), fmtRecord(want[i]))
		default:
			continue
		}
		if len(msg) > 4000 {
			return msg + "\n  ..."
		}
	}
	return msg
}

// checkSnapshots checks that every published view of s (snapshots, Len,
// Services) agrees with its records.
func checkSnapshots(tb testing.TB, s *Store) {
	tb.Helper()
	type view struct {
		info *ServiceInfo
		live []Instance
	}
	views := map[Key]*view{}
	namespaces := map[string]bool{}
	total := 0
	for _, r := range s.Records() {
		v := views[r.Key]
		if v == nil {
			v = &view{}
			views[r.Key] = v
		}
		namespaces[r.Key.Namespace] = true
		switch {
		case r.Service != nil:
			v.info = r.Service
		case !r.Instance.Deleted:
			v.live = append(v.live, *r.Instance)
			total++
		}
	}
	if got := s.Len(); got != total {
		tb.Errorf("Len() = %d, want %d live records", got, total)
	}
	wantServices := map[string][]Key{}
	for k, v := range views {
		snap := s.Snapshot(k)
		explicit := v.info != nil && !v.info.Deleted
		exists := explicit || len(v.live) > 0
		if exists {
			wantServices[k.Namespace] = append(wantServices[k.Namespace], k)
		}
		if snap.Explicit != explicit || snap.Exists != exists {
			tb.Errorf("%s: snapshot Explicit=%v Exists=%v, want %v %v", k, snap.Explicit, snap.Exists, explicit, exists)
		}
		if explicit && !reflect.DeepEqual(cloneInfo(snap.Info), *v.info) {
			tb.Errorf("%s: snapshot info got %+v, want %+v", k, snap.Info, *v.info)
		}
		got := make([]Instance, len(snap.Instances))
		for i, in := range snap.Instances {
			got[i] = in.clone()
		}
		if len(v.live) == 0 {
			v.live = []Instance{}
		}
		if !reflect.DeepEqual(got, v.live) {
			tb.Errorf("%s: snapshot instances\n got %+v\nwant %+v", k, got, v.live)
		}
	}
	for ns := range namespaces {
		var got []Key
		for _, sum := range s.Services(ns, "") {
			got = append(got, sum.Key)
		}
		want := wantServices[ns]
		slices.SortFunc(want, compareKeys)
		if !slices.Equal(got, want) {
			tb.Errorf("Services(%q) got %v, want %v", ns, got, want)
		}
	}
}
