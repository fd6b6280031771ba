package peer

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// countingConn counts the bytes a connection reads and writes.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

func (c countingConn) Write(p []byte) (int, error) {
	k, err := c.Conn.Write(p)
	c.n.Add(int64(k))
	return k, err
}

// storeReceiver is a Receiver over one store whose only member is "n0".
type storeReceiver struct {
	st       *store.Store
	unsynced *atomic.Bool // while set, Synced reports false (nil: never)
}

func (r storeReceiver) Member(name string) (Member, bool) {
	return Member{Name: name, HTTPAddr: "127.0.0.1:1"}, name == "n0"
}
func (r storeReceiver) Merge(recs []store.Record, fresh bool) int { return 0 }
func (r storeReceiver) HandleBeat(context.Context, BeatCall) (time.Duration, bool, error) {
	return 0, false, nil
}
func (r storeReceiver) PeerReady(Member)                    {}
func (r storeReceiver) HandleHeard(Member, uint64, []Heard) {}
func (r storeReceiver) RenewHeard(Member, uint64, time.Duration) bool {
	return false
}
func (r storeReceiver) HeldHeard(string) map[int]Held { return nil }
func (r storeReceiver) Store() *store.Store           { return r.st }
func (r storeReceiver) PartitionCount() int           { return 4093 }
func (r storeReceiver) Synced() bool                  { return r.unsynced == nil || !r.unsynced.Load() }

// BenchmarkAntiEntropyInSync measures the bytes on the wire (HTTP headers
// included, both directions) of one anti-entropy exchange between two
// nodes that agree, with 100,000 instances held: the digest request and
// its "equal" answer, all an in-sync exchange sends.
// Run: go test -run '^$' -bench AntiEntropyInSync -benchtime 20x ./peer/
func BenchmarkAntiEntropyInSync(b *testing.B) {
	st, err := store.New(store.Config{Node: "n1", Now: time.Now, TombstoneTTL: time.Minute, Partitions: 4093,
		Partition: func(k store.Key) int { h := fnv.New64a(); h.Write([]byte(k.String())); return int(h.Sum64() % 4093) }})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100000; i++ {
		k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: fmt.Sprintf("ae-%d", i%1000)}
		if _, err := st.Register(k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT",
			IP: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Port: 80}, Weight: 1, Healthy: true, Enabled: true,
			Ephemeral: true, BeatTimeout: time.Hour, DeleteTimeout: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Self = "n0"
	t, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	mux := http.NewServeMux()
	NewServer(t, storeReceiver{st: st}).Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var wire atomic.Int64
	dialer := &net.Dialer{Timeout: time.Second}
	t.c.hc.Transport = &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, n: &wire}, nil
		}}
	m := Member{Name: "n1", HTTPAddr: srv.Listener.Addr().String()}
	mine := st.Digests()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, equal, err := t.Digests(context.Background(), m, mine); err != nil || !equal {
			b.Fatalf("exchange: equal %v, err %v", equal, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(wire.Load())/float64(b.N), "bytes/exchange")
}
