package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// The forger: a forged or buggy peer. From loopback, as a real member
// named in X-Roster-Node (the chaos cluster has no cluster secret, so
// internal requests are not signed and loopback passes the sender's host
// check), it POSTs /internal/v1/deltas records that no client could have
// written: a beat timeout of MaxInt64, a name that is not one, or a valid
// record stamped an hour ahead. Each answer, the node's
// roster_records_from_the_future_total before and after, and then every
// live node's list of ForgedService go into the history.

// ForgedService is the service every forged record names; no node may
// ever list an instance of it.
const ForgedService = "chaos-forged"

var forgedKinds = []ForgedKind{ForgedTiming, ForgedName, ForgedFuture}

// forgedRecord returns the i-th forged record, signed as the member as,
// and the instance it names.
func forgedRecord(kind ForgedKind, i int, as string, now time.Time) store.Record {
	in := store.Instance{InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: fmt.Sprintf("10.66.%d.%d", 1+i/250%200, 1+i%250), Port: 7000 + i%1000},
		Weight: 1, Healthy: true, Enabled: true, Ephemeral: true,
		BeatInterval: time.Second, BeatTimeout: 3 * time.Second, DeleteTimeout: 6 * time.Second,
		Version: store.Version{Clock: now.UnixNano(), Node: as}}
	switch kind {
	case ForgedTiming:
		in.BeatTimeout = math.MaxInt64
	case ForgedName:
		if i%2 == 0 {
			in.Cluster = "bad\x01cluster"
		} else {
			in.IP = fmt.Sprintf("not an ip %d!", i)
		}
	case ForgedFuture:
		in.Version.Clock = now.Add(time.Hour).UnixNano()
	}
	return store.Record{Key: store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: ForgedService}, Instance: &in}
}

// forge sends a forged record every `every` until ctx ends, each kind in
// turn, as replicated deltas and then as repairs.
func forge(ctx context.Context, c *agentproc.Cluster, h *History, every time.Duration, rng *rand.Rand) {
	for i := 0; i < 100000 && sleepCtx(ctx, every); i++ {
		live := c.Live()
		if len(live) < 2 {
			continue
		}
		k := rng.IntN(len(live))
		target, as := live[k], live[(k+1+rng.IntN(len(live)-1))%len(live)]
		kind := forgedKinds[i%len(forgedKinds)]
		repair := i/len(forgedKinds)%2 == 1
		rec := forgedRecord(kind, i, as.Name, time.Now())
		body, _ := json.Marshal(map[string]any{"records": []store.Record{rec}, "repair": repair})
		o := ForgedOp{Node: target.Name, As: as.Name, Kind: kind, Repair: repair,
			Inst: Instance{Service: ForgedService, IP: rec.Instance.IP, Port: rec.Instance.Port}}
		o.FutureBefore = futureCount(target)
		o.Start = time.Now()
		o.Code, o.Body = postAs(target, as.Name, "/internal/v1/deltas", body)
		o.End = time.Now()
		o.FutureAfter = futureCount(target)
		if now := c.Get(target.Name); now == nil || now.PID() != target.PID() {
			o.Restarted = true
		}
		h.AddForged(o)
		pollForged(c, h)
	}
}

// pollForged reads every live node's list of ForgedService.
func pollForged(c *agentproc.Cluster, h *History) {
	for _, p := range c.Live() {
		o := pollList(0, p, ForgedService)
		fp := ForgedPoll{T: o.End, Node: p.Name, Status: o.Status}
		for a := range o.List {
			fp.Listed = append(fp.Listed, a)
		}
		h.AddForgedPoll(fp)
	}
}

// postAs POSTs a JSON body to p as the member as and returns the status
// (0: no answer) and the start of the answer.
func postAs(p *agentproc.Proc, as, path string, body []byte) (int, string) {
	req, err := http.NewRequest(http.MethodPost, p.URL()+path, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set(peer.NodeHeader, as)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: transport, Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// futureCount reads p's roster_records_from_the_future_total: 0 when
// /metrics does not have it, -1 when /metrics did not answer.
func futureCount(p *agentproc.Proc) float64 {
	code, b, err := do(http.MethodGet, p.HTTP, "/metrics", nil, nil, 2*time.Second)
	if err != nil || code != 200 {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "roster_records_from_the_future_total "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return -1
			}
			return v
		}
	}
	return 0
}
