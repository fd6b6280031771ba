package agent_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/client"
)

// BenchmarkClusterClientBeat keeps 1,000 instances alive with the Go
// client (beats every 250 ms, 4,000 beats/s) against an in-process
// cluster of three nodes, and reports the CPU each beat costs the whole
// process (client and nodes): batched in PUT /v1/beats to each owner, and
// one request per beat.
//
//	go test -run '^$' -bench ClusterClientBeat -benchtime 3x ./agent/
func BenchmarkClusterClientBeat(b *testing.B) {
	for _, single := range []bool{false, true} {
		name := map[bool]string{false: "batched", true: "single"}[single]
		b.Run(name, func(b *testing.B) {
			tc := agenttest.NewCluster(b, 3, productionTimers)
			nodes := tc.Agents()
			var addrs []string
			for _, n := range nodes {
				addrs = append(addrs, base(n))
			}
			c, err := client.New(client.Config{Addrs: addrs, SingleBeats: single, MembersRefresh: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(context.Background())
			var wg sync.WaitGroup
			for w := range 20 {
				wg.Go(func() {
					for i := w; i < 1000; i += 20 {
						k := client.InstanceKey{Service: client.Service{Name: fmt.Sprintf("cb-%d", i%50)}, IP: fmt.Sprintf("10.1.%d.%d", i>>8, i&255), Port: 8080}
						if _, err := c.Register(b.Context(), client.Registration{InstanceKey: k, BeatInterval: 250 * time.Millisecond}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			time.Sleep(2 * time.Second) // the client learns the owners
			beats := func() (n uint64) {
				for _, a := range nodes {
					n += a.Node().Stats().BeatsReceived
				}
				return n
			}
			beats0, cpu0 := beats(), cpuTime()
			b.ResetTimer()
			for range b.N {
				time.Sleep(time.Second)
			}
			b.StopTimer()
			got := beats() - beats0
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(max(got, 1)), "cpu-µs/beat")
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "beats/s")
		})
	}
}
