package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// The amplifier: memory-amplifying reads. It registers WideService, the
// busiest service of the run (persistent instances with padded metadata,
// so a list body is large, and never changing afterwards, so one service
// snapshot lives through the whole run), then reads its Nacos list over
// and over, each read with a clusters filter never sent before
// (DEFAULT plus names that match nothing), every few reads also asking
// for UDP pushes with another such filter. A node that keys a cached body
// or a subscription by the filter as spelled holds one more list per
// read; sampleRSS reads every agent's resident memory so the checker can
// hold it to Bounds.RSSGrowth.

// WideService is the amplifier's target.
const WideService = "chaos-wide"

// registerWide registers n persistent instances of WideService, each
// with about metaBytes of metadata, through random live nodes, and
// returns how many were acknowledged.
func registerWide(ctx context.Context, c *agentproc.Cluster, n, metaBytes int, rng *rand.Rand) int {
	md := map[string]string{}
	for i := 0; i < max(1, metaBytes/100); i++ {
		md[fmt.Sprintf("pad%02d", i)] = strings.Repeat(string(rune('a'+i%26)), 94)
	}
	js, _ := json.Marshal(md)
	picks := make([]int, n)
	for i := range picks {
		picks[i] = rng.IntN(1 << 20)
	}
	var mu sync.Mutex // guards ok
	ok := 0
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v := url.Values{"serviceName": {WideService}, "ip": {fmt.Sprintf("10.77.%d.%d", i/256, i%256)}, "port": {"9000"},
				"ephemeral": {"false"}, "metadata": {string(js)}}
			for try := 0; try < 5 && ctx.Err() == nil; try++ {
				live := c.Live()
				if len(live) == 0 {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				p := live[(picks[i]+try)%len(live)]
				if code, _, err := do(http.MethodPost, p.HTTP, "/nacos/v1/ns/instance", v, nil, 3*time.Second); err == nil && code == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return ok
}

// amplify reads WideService's list at about perSec reads a second, each
// with a clusters filter of its own (DEFAULT and padNames names of ~500
// bytes that match no cluster); every subEvery-th read instead asks for
// UDP pushes to a socket of the harness, with a filter of its own under
// 1 KiB. All go to one node, chosen at random, until it stops. It returns
// the reads made and how many of them subscribed.
func amplify(ctx context.Context, c *agentproc.Cluster, perSec, padNames, subEvery int, rng *rand.Rand) (reads, subs int) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, 0
	}
	defer udp.Close()
	go func() { // drain the pushes
		buf := make([]byte, 64<<10)
		for {
			if _, _, err := udp.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	port := strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
	pad := strings.Repeat("p", 480)
	target := "" // one node at a time, so what it holds adds up fast
	t := time.NewTicker(time.Second / time.Duration(max(1, perSec)))
	defer t.Stop()
	for i := 0; i < 1_000_000; i++ {
		select {
		case <-ctx.Done():
			return reads, subs
		case <-t.C:
		}
		p := c.Get(target)
		if p == nil {
			live := c.Live()
			if len(live) == 0 {
				continue
			}
			p = live[rng.IntN(len(live))]
			target = p.Name
		}
		v := url.Values{"serviceName": {WideService}}
		if subEvery > 0 && i%subEvery == subEvery-1 {
			v.Set("clusters", fmt.Sprintf("sub%d-%s", i, pad[:400]))
			v.Set("udpPort", port)
			subs++
		} else {
			var b strings.Builder
			b.WriteString("DEFAULT")
			for j := range padNames {
				fmt.Fprintf(&b, ",r%d-%d-%s", i, j, pad)
			}
			v.Set("clusters", b.String())
		}
		_, _, _ = do(http.MethodGet, p.HTTP, "/nacos/v1/ns/instance/list", v, nil, 3*time.Second)
		reads++
	}
	return reads, subs
}

// sampleRSS reads every live agent's resident memory every interval
// until ctx ends.
func sampleRSS(ctx context.Context, c *agentproc.Cluster, h *History, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, p := range c.Live() {
			if kib, err := readRSS(p.PID()); err == nil {
				h.AddRSS(RSSSample{T: time.Now(), Node: p.Name, PID: p.PID(), KiB: kib})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readRSS returns VmRSS of /proc/pid/status in KiB.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("chaos: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("chaos: no VmRSS in /proc/%d/status", pid)
}
