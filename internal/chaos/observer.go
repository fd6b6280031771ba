package chaos

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Observe polls every running node's native list of each service every
// interval (GET /v1/instances: each instance with its own health, no
// protect threshold) and, every ownerEvery rounds, the owner of each
// service, recording everything in h until ctx ends.
//
// A poll that lists what the node's previous poll of the service listed
// shares its map, which keeps a long run's history small.
func Observe(ctx context.Context, c *Cluster, h *History, services []string, interval time.Duration, ownerEvery int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var mu sync.Mutex // guards last
	last := map[[2]string]map[string]bool{}
	for round := 1; ; round++ {
		var wg sync.WaitGroup
		for _, p := range c.Live() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, svc := range services {
					o := pollList(round, p, svc)
					if o.List != nil {
						k := [2]string{p.Name, svc}
						mu.Lock()
						if prev, ok := last[k]; ok && maps.Equal(prev, o.List) {
							o.List = prev
						} else {
							last[k] = o.List
						}
						mu.Unlock()
					}
					h.AddObs(o)
				}
				if ownerEvery > 0 && round%ownerEvery == 0 {
					for _, svc := range services {
						if o, ok := pollOwner(round, p, svc); ok {
							h.AddOwner(o)
						}
					}
				}
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func pollList(round int, p *Proc, svc string) Obs {
	o := Obs{Round: round, Node: p.Name, Service: svc, Start: time.Now()}
	code, body, err := do(http.MethodGet, p.HTTP, "/v1/instances", url.Values{"service": {svc}}, nil, time.Second)
	o.End = time.Now()
	o.Status = code
	if err != nil || code != 200 {
		return o
	}
	var r struct {
		Instances []struct {
			IP      string
			Port    int
			Healthy bool
		}
	}
	if json.Unmarshal(body, &r) != nil {
		o.Status = -1
		return o
	}
	o.List = make(map[string]bool, len(r.Instances))
	for _, in := range r.Instances {
		o.List[Instance{IP: in.IP, Port: in.Port}.Addr()] = in.Healthy
	}
	return o
}

func pollOwner(round int, p *Proc, svc string) (OwnerObs, bool) {
	o := OwnerObs{Round: round, Node: p.Name, Service: svc, Start: time.Now()}
	code, body, err := do(http.MethodGet, p.HTTP, "/v1/cluster/owner", url.Values{"service": {svc}}, nil, time.Second)
	o.End = time.Now()
	if err != nil || code != 200 {
		return o, false
	}
	var r struct{ Owner string }
	if json.Unmarshal(body, &r) != nil {
		return o, false
	}
	o.Owner = r.Owner
	return o, true
}
