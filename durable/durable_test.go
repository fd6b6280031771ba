package durable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	st, err := store.New(store.Config{Node: "n1", Now: now, TombstoneTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// open opens dir for node n1 with clk, loads it into a new store and
// attaches it; both are closed at the end of the test.
func open(t *testing.T, dir string, clk *fakeClock) (*DB, *store.Store, Loaded) {
	t.Helper()
	db, err := Open(Config{Dir: dir, Node: "n1", Cluster: "c1", TombstoneTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t, clk.Now)
	l, err := db.Load(st)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	db.Attach(st)
	t.Cleanup(func() { db.Close() })
	return db, st, l
}

var svc = store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "orders"}

func inst(ip string, port int, ephemeral bool) store.Instance {
	return store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: ip, Port: port}, Weight: 1,
		Healthy: true, Enabled: true, Ephemeral: ephemeral, Metadata: map[string]string{"marker": "MARKER-" + ip}}
}

func TestDurable_keepsPersistentRecordsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	db, st, _ := open(t, dir, clk)
	for i := range 20 {
		if _, err := st.Register(svc, inst(fmt.Sprintf("10.0.0.%d", i), 80, false)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Register(svc, inst("10.0.1.1", 80, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateService(svc, store.ServiceInfo{ProtectThreshold: 0.4, Metadata: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	gone := store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.3", Port: 80}
	if _, err := st.Deregister(svc, gone); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := st.Clock()
	db.Close()

	db2, st2, l := open(t, dir, clk)
	_ = db2
	if l.Instances != 19 || l.Services != 1 || l.Tombstones != 1 {
		t.Fatalf("loaded %+v; want 19 instances, 1 service, 1 tombstone", l)
	}
	snap := st2.Snapshot(svc)
	if len(snap.Instances) != 19 || snap.Info.ProtectThreshold != 0.4 || snap.Info.Metadata["team"] != "a" {
		t.Fatalf("after reopen: %d instances, info %+v", len(snap.Instances), snap.Info)
	}
	for _, in := range snap.Instances {
		if in.Ephemeral || in.IP == "10.0.0.3" {
			t.Fatalf("instance %s (ephemeral %v) should not be back", in.IP, in.Ephemeral)
		}
	}
	// The tombstone holds: an older registration from a peer stays deleted.
	old := inst("10.0.0.3", 80, false)
	old.Version = store.Version{Clock: 1, Node: "n2"}
	if st2.Merge(svc, old) {
		t.Fatal("an older record revived a deletion loaded from disk")
	}
	if got := st2.Clock(); got <= last {
		t.Fatalf("clock after reopen %d, want past %d", got, last)
	}
}

func TestDurable_groupCommitAcknowledgesOnlyWhatIsOnDisk(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now()}
	db, st, _ := open(t, dir, clk)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := st.Register(svc, inst(fmt.Sprintf("10.1.%d.%d", w, i), 80, false)); err != nil {
					errs <- err
					return
				}
				if err := db.Sync(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := db.Stats()
	if s.Records != writers*each {
		t.Fatalf("%d records written, want %d", s.Records, writers*each)
	}
	if s.Commits >= writers*each {
		t.Fatalf("%d commits for %d writes: no group commit", s.Commits, writers*each)
	}
	t.Logf("%d writes in %d commits", writers*each, s.Commits)
	db.Close()
	_, st2, l := open(t, dir, clk)
	if l.Instances != writers*each || st2.Len() != writers*each {
		t.Fatalf("reopened with %d instances, want %d", l.Instances, writers*each)
	}
}

func TestDurable_instanceTurnedEphemeralLeavesTheDisk(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now()}
	db, st, _ := open(t, dir, clk)
	if _, err := st.Register(svc, inst("10.2.0.1", 80, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Register(svc, inst("10.2.0.1", 80, true)); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, _, l := open(t, dir, clk); l.Instances != 0 {
		t.Fatalf("%d instances loaded; the ephemeral re-registration should have removed it", l.Instances)
	}
}

func TestDurable_dropsTombstonesAfterTheirTTL(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now()}
	db, st, _ := open(t, dir, clk)
	if _, err := st.Register(svc, inst("10.3.0.1", 80, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deregister(svc, store.InstanceKey{Cluster: "DEFAULT", IP: "10.3.0.1", Port: 80}); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close() // the purge runs on the writer goroutine; call it on a closed writer
	db2, err := Open(Config{Dir: dir, Node: "n1", Cluster: "c1", TombstoneTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if l, err := db2.Load(newStore(t, clk.Now)); err != nil || l.Tombstones != 1 {
		t.Fatalf("load: %+v, %v; want the tombstone", l, err)
	}
	db2.purgeTombstones()
	if len(db2.graves) != 1 {
		t.Fatal("a tombstone younger than the TTL was dropped")
	}
	clk.Add(time.Minute + time.Second)
	db2.purgeTombstones()
	if l, err := db2.Load(newStore(t, clk.Now)); err != nil || l.Tombstones != 0 || len(db2.graves) != 0 {
		t.Fatalf("after the TTL: %+v, %v, graves %d; want no tombstone", l, err, len(db2.graves))
	}
}

func TestDurable_refusesAnotherNodeOrClusterAndASecondProcess(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now()}
	db, _, _ := open(t, dir, clk)
	if _, err := Open(Config{Dir: dir, Node: "n1", Cluster: "c1", TombstoneTTL: time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open of a data directory in use: %v, want locked", err)
	}
	db.Close()
	for _, c := range []Config{{Node: "n2", Cluster: "c1"}, {Node: "n1", Cluster: "c2"}} {
		c.Dir, c.TombstoneTTL = dir, time.Minute
		_, err := Open(c)
		if !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
			t.Fatalf("open as %s/%s: %v, want an identity error naming the file", c.Node, c.Cluster, err)
		}
	}
}

func TestDurable_damagedFileStopsWithAClearError(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now()}
	db, st, _ := open(t, dir, clk)
	for i := range 50 {
		if _, err := st.Register(svc, inst(fmt.Sprintf("10.4.0.%d", i), 80, false)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	path := filepath.Join(dir, FileName)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("MARKER-10.4.0.7")
	if !bytes.Contains(good, marker) {
		t.Fatal("marker not found in the data file")
	}
	// A flipped byte inside a record, and whole pages of garbage where
	// the file's meta and tree pages are.
	cases := map[string]func([]byte){
		// every copy of one record (old page versions stay in free pages)
		"record byte": func(b []byte) {
			for i := bytes.Index(b, marker); i >= 0; i = bytes.Index(b, marker) {
				b[i+3] ^= 0x40
			}
		},
		"meta pages":  func(b []byte) { copy(b[0:], bytes.Repeat([]byte{0xA5}, 8192)) },
		"first pages": func(b []byte) { copy(b[8192:], bytes.Repeat([]byte{0x5A}, 16384)) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(good)
			damage(bad)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			err := openAndLoad(dir, clk)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move the data directory") {
				t.Fatalf("open of a damaged file: %v; want a corruption error naming %s and what to do", err, path)
			}
		})
	}
}

func openAndLoad(dir string, clk *fakeClock) error {
	db, err := Open(Config{Dir: dir, Node: "n1", Cluster: "c1", TombstoneTTL: time.Minute, Now: clk.Now})
	if err != nil {
		return err
	}
	defer db.Close()
	st, _ := store.New(store.Config{Node: "n1", Now: clk.Now, TombstoneTTL: time.Minute})
	_, err = db.Load(st)
	return err
}

func TestSnapshot_roundTripAndRefusals(t *testing.T) {
	st := newStore(t, time.Now)
	for i := range 30 {
		if _, err := st.Register(svc, inst(fmt.Sprintf("10.6.0.%d", i), 80, i%3 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateService(svc, store.ServiceInfo{ProtectThreshold: 0.3}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deregister(svc, store.InstanceKey{Cluster: "DEFAULT", IP: "10.6.0.1", Port: 80}); err != nil {
		t.Fatal(err)
	}
	recs := SnapshotRecords(st.Records())
	if len(recs) != 20-1+1 { // 20 persistent, one deleted, one service
		t.Fatalf("%d records in the snapshot, want 20", len(recs))
	}
	now := time.Unix(1_700_000_000, 5)
	b, err := EncodeSnapshot(recs, now)
	if err != nil {
		t.Fatal(err)
	}
	back, created, err := DecodeSnapshot(b)
	if err != nil || !created.Equal(now) || !reflect.DeepEqual(back, recs) {
		t.Fatalf("round trip: %v, created %v", err, created)
	}
	for _, cut := range []int{0, 10, snapshotHeader, len(b) / 2, len(b) - 1} {
		if _, _, err := DecodeSnapshot(b[:cut]); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("snapshot cut to %d bytes: %v, want refused", cut, err)
		}
	}
	flipped := bytes.Clone(b)
	flipped[len(b)/2] ^= 1
	if _, _, err := DecodeSnapshot(flipped); !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("flipped byte: %v", err)
	}
}

// FuzzDecodeSnapshot feeds arbitrary bytes to the snapshot decoder (a
// restore's input comes from a client): it must never panic, and what it
// accepts must encode back to the same bytes.
func FuzzDecodeSnapshot(f *testing.F) {
	good, _ := EncodeSnapshot([]store.Record{{Key: svc, Service: &store.ServiceInfo{ProtectThreshold: 0.5}}}, time.Unix(1, 0))
	f.Add(good)
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, created, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		again, err := EncodeSnapshot(recs, created)
		if err != nil {
			t.Fatalf("an accepted snapshot does not encode: %v", err)
		}
		if _, _, err := DecodeSnapshot(again); err != nil {
			t.Fatalf("a re-encoded snapshot is refused: %v", err)
		}
	})
}
