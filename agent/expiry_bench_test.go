package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

// BenchmarkExpiryLateness100k measures how late instances turn unhealthy
// on the real clock with 100,000 of them in 100 services: registrations
// spread over one second (a mass expiry at 100k/s) or five (one beat
// interval's worth), none beats, timeout 2 s. Lateness runs from each
// deadline to the moment the sweep that applied it had published it
// (the node's expiry-lateness histogram, which errs high by up to 25%).
// Run: go test -run '^$' -bench ExpiryLateness100k -benchtime 1x ./node/
func BenchmarkExpiryLateness100k(b *testing.B) {
	for _, spread := range []time.Duration{time.Second, 5 * time.Second} {
		b.Run("spread="+spread.String(), func(b *testing.B) { benchExpiryLateness(b, spread) })
	}
}

func benchExpiryLateness(b *testing.B, spread time.Duration) {
	const total, services, timeout = 100000, 100, 2 * time.Second
	for it := 0; it < b.N; it++ {
		tc := agenttest.NewCluster(b, 1)
		n := tc.Agent("n0")
		keys := make([]store.Key, services)
		for s := range keys {
			keys[s] = keyOf(fmt.Sprintf("late-%d-%d", it, s))
		}
		start := time.Now()
		for i := 0; i < total; i++ {
			if due := start.Add(time.Duration(i) * spread / total); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
			ik := store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Port: 80}
			if _, err := n.Node().Store().Register(keys[i%services], store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true,
				Ephemeral: true, BeatInterval: time.Second, BeatTimeout: timeout, DeleteTimeout: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
		until := time.Now().Add(timeout + 30*time.Second)
		for n.Node().Stats().ExpiryLateCount < total && time.Now().Before(until) {
			time.Sleep(10 * time.Millisecond)
		}
		st := n.Node().Stats()
		if got := st.ExpiryLateCount; got != total {
			b.Fatalf("%d of %d instances expired", got, total)
		}
		for _, k := range keys {
			if healthy := n.Node().Store().Snapshot(k).Healthy(); healthy != 0 {
				b.Fatalf("%s: %d instances still healthy", k.Service, healthy)
			}
		}
		b.ReportMetric(float64(st.ExpiryLateP50)/1e6, "p50-ms")
		b.ReportMetric(float64(st.ExpiryLateP99)/1e6, "p99-ms")
		b.ReportMetric(float64(st.ExpiryLateMax)/1e6, "max-ms")
	}
}
