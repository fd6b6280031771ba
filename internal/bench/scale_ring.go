package bench

// Membership and ownership as the scale mode watches them: every node
// polled in its own goroutine until a condition holds on it, the ring
// table each node serves (GET /v1/cluster/ring), and the share of
// partitions whose owner changed between two agreed rings.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// pollInterval is how often each node is polled: slower in big clusters,
// so that the polling does not load the machine it measures.
func pollInterval(nodes int) time.Duration {
	return min(max(time.Duration(nodes)*2*time.Millisecond, 20*time.Millisecond), 200*time.Millisecond)
}

// pollEach polls check on every proc, each in its own goroutine, until it
// holds on all of them, and returns when it first held on the last one.
// It fails after within, naming the nodes on which it never held.
func pollEach(ctx context.Context, procs []*agentproc.Proc, within time.Duration, check func(context.Context, *agentproc.Proc) bool) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	every := pollInterval(len(procs))
	at := make([]time.Time, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			for ctx.Err() == nil {
				if check(ctx, p) {
					at[i] = time.Now()
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(every):
				}
			}
		})
	}
	wg.Wait()
	var pending []string
	for i, t := range at {
		if t.IsZero() {
			pending = append(pending, procs[i].Name)
		}
	}
	if len(pending) > 0 {
		return time.Time{}, fmt.Errorf("bench: scale: not within %v on %d nodes: %s", within, len(pending), strings.Join(pending[:min(len(pending), 10)], ", "))
	}
	return latest(at), nil
}

// getJSON GETs p's path into out within a few seconds.
func getJSON(ctx context.Context, hc *http.Client, p *agentproc.Proc, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+path, nil)
	if err != nil {
		return fmt.Errorf("bench: scale: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: scale: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: scale: GET %s on %s: %s", path, p.Name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bench: scale: GET %s on %s: %w", path, p.Name, err)
	}
	return nil
}

// memberNames returns the names p lists in /v1/cluster/members (in any
// state), or nil on error.
func memberNames(ctx context.Context, hc *http.Client, p *agentproc.Proc) []string {
	var ms api.Members
	if err := getJSON(ctx, hc, p, "/v1/cluster/members", &ms); err != nil {
		return nil
	}
	out := make([]string, 0, len(ms.Members))
	for _, m := range ms.Members {
		out = append(out, m.Name)
	}
	return out
}

// ringOwners returns the owner of every partition in p's ring and the
// ring's member names (sorted), or nil on error.
func ringOwners(ctx context.Context, hc *http.Client, p *agentproc.Proc) (owners, members []string) {
	var r api.Ring
	if err := getJSON(ctx, hc, p, "/v1/cluster/ring", &r); err != nil || len(r.Owners) == 0 {
		return nil, nil
	}
	owners = make([]string, len(r.Owners))
	for i, o := range r.Owners {
		if o < 0 || o >= len(r.Members) {
			return nil, nil
		}
		owners[i] = r.Members[o].Name
	}
	for _, m := range r.Members {
		members = append(members, m.Name)
	}
	slices.Sort(members)
	return owners, members
}

// ownersHash fingerprints an owner table.
func ownersHash(owners []string) uint64 {
	h := fnv.New64a()
	for _, o := range owners {
		h.Write([]byte(o))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// waitRingsAgree waits until every proc's ring has exactly the members
// named want and all the owner tables are the same, and returns that
// table and when the last node got there.
func waitRingsAgree(ctx context.Context, hc *http.Client, procs []*agentproc.Proc, want []string, within time.Duration) ([]string, time.Time, error) {
	want = slices.Sorted(slices.Values(want))
	var mu sync.Mutex // guards tables
	tables := map[string][]string{}
	at, err := pollEach(ctx, procs, within, func(ctx context.Context, p *agentproc.Proc) bool {
		owners, members := ringOwners(ctx, hc, p)
		if owners == nil || !slices.Equal(members, want) {
			return false
		}
		mu.Lock()
		tables[p.Name] = owners
		mu.Unlock()
		return true
	})
	if err != nil {
		return nil, at, fmt.Errorf("%w (rings with members %v)", err, want)
	}
	// A node settles once; check the tables it settled on all agree.
	var first []string
	for _, t := range tables {
		if first == nil {
			first = t
		} else if ownersHash(t) != ownersHash(first) {
			return nil, at, fmt.Errorf("bench: scale: the nodes' rings have the same members but different owners")
		}
	}
	return first, at, nil
}

// movedFraction is the share of partitions whose owner differs.
func movedFraction(a, b []string) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	moved := 0
	for i := range a {
		if a[i] != b[i] {
			moved++
		}
	}
	return float64(moved) / float64(len(a))
}

// names returns the names of procs.
func names(procs []*agentproc.Proc) []string {
	out := make([]string, len(procs))
	for i, p := range procs {
		out[i] = p.Name
	}
	return out
}

// awaitReady polls p until it answers /readyz, for at most a minute (a
// node that is slower is waited for with the rest after the last start).
func (s *scaleRun) awaitReady(ctx context.Context, p *agentproc.Proc) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, _ = await.Until(ctx, 100*time.Millisecond, time.Minute, func() bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/readyz", nil)
		if err != nil {
			return false
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
