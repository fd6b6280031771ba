package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
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

// BenchmarkAntiEntropyInSync measures the bytes on the wire (HTTP headers
// included, both directions) of one anti-entropy exchange between two
// nodes that agree, with 100,000 instances held.
// Run: go test -run '^$' -bench AntiEntropyInSync -benchtime 20x ./node/
func BenchmarkAntiEntropyInSync(b *testing.B) {
	// No background exchanges: only the measured ones travel, and none
	// can run while the peer is still merging the copy.
	tc := newBenchCluster(b, 2, func(c *Config) { c.AntiEntropyInterval = time.Hour })
	a, peer := tc.node("n0"), tc.node("n1")
	recs := make([]store.Record, 0, 100000)
	for i := 0; i < 100000; i++ {
		k := a.keyOf(fmt.Sprintf("ae-%d", i%1000))
		in, err := a.store.Register(k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT",
			IP: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Port: 80}, Weight: 1, Healthy: true, Enabled: true,
			Ephemeral: true, BeatTimeout: time.Hour, DeleteTimeout: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, store.Record{Key: k, Instance: &in})
	}
	peer.merge(recs, false)
	if a.store.Len() != peer.store.Len() || digestRoot(a.store.Digests()) != digestRoot(peer.store.Digests()) {
		b.Fatalf("nodes disagree before the exchange")
	}
	var wire atomic.Int64
	dialer := &net.Dialer{Timeout: time.Second}
	a.peers.hc.Transport = &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, n: &wire}, nil
		}}
	m, ok := a.cluster.isMember("n1")
	if !ok {
		b.Fatal("n1 not a member of n0's view")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		diff, err := a.exchange(m, false)
		if err != nil || diff != 0 {
			b.Fatalf("exchange: %d partitions differ, err %v", diff, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(wire.Load())/float64(b.N), "bytes/exchange")
}
