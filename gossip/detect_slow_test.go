package gossip

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestProfile_lanDetectsCrashUnder3s crashes one node of a five-node lan
// cluster several times and checks the median time until every survivor
// reports it gone. It takes about 10s; set ROSTER_SLOW_TESTS=1 to run it.
// gossip/internal/detectbench measures the same thing with more options.
func TestProfile_lanDetectsCrashUnder3s(t *testing.T) {
	if os.Getenv("ROSTER_SLOW_TESTS") == "" {
		t.Skip("slow: set ROSTER_SLOW_TESTS=1")
	}
	const runs, n = 5, 5
	var times []time.Duration
	for run := range runs {
		t.Run(strconv.Itoa(run), func(t *testing.T) {
			var nodes []*testNode
			var seed string
			for i := range n {
				cfg := testConfig(t, "d"+strconv.Itoa(i))
				cfg.Profile = ProfileLAN
				if seed != "" {
					cfg.Join = []string{seed}
				}
				nodes = append(nodes, startNode(t, cfg))
				seed = nodes[0].LocalMember().Addr
			}
			waitConverged(t, nodes, names("d", n)...)

			victim := nodes[run%n]
			start := time.Now()
			stopNode(t, victim.Gossip)
			for _, nd := range nodes {
				if nd == victim {
					continue
				}
				nd.rec.waitEvent(t, 10*time.Second, "leave", func(ev Event) bool {
					return ev.Type == EventLeave && ev.Member.Name == victim.cfg.Name
				})
			}
			d := time.Since(start)
			t.Logf("all survivors saw the crash after %v", d)
			times = append(times, d)
			for _, nd := range nodes {
				if ev, ok := nd.rec.find(func(ev Event) bool {
					return ev.Type == EventLeave && ev.Member.Name != victim.cfg.Name
				}); ok {
					t.Errorf("%s: false positive %+v", nd.cfg.Name, ev)
				}
			}
		})
	}
	slices.Sort(times)
	if median := times[len(times)/2]; median >= 3*time.Second {
		t.Errorf("median detection %v (all %v), want under 3s", median, times)
	} else {
		t.Logf("median detection %v, max %v", median, times[len(times)-1])
	}
}
