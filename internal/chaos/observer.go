package chaos

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/agentproc"
)

// Observe polls every running node's native list of each service every
// interval (GET /v1/instances: each instance with its own health, no
// protect threshold) and, every ownerEvery rounds, the owner of each
// service, recording everything in h until ctx ends.
//
// A poll that lists what the node's previous poll of the service listed
// shares its map, which keeps a long run's history small.
func Observe(ctx context.Context, c *agentproc.Cluster, h *History, services []string, interval time.Duration, ownerEvery int) {
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

// pollList reads p's native list of svc: Status is the HTTP status (0:
// no answer, -1: an answer that does not decode).
func pollList(round int, p *agentproc.Proc, svc string) Obs {
	o := Obs{Round: round, Node: p.Name, Service: svc, Start: time.Now()}
	n, err := api(p)
	if err != nil {
		o.End = time.Now()
		return o
	}
	l, err := n.List(context.Background(), client.Query{Service: client.Service{Name: svc}})
	o.End = time.Now()
	var ae *client.APIError
	var ue *url.Error
	switch {
	case errors.As(err, &ae):
		o.Status = ae.Status
		return o
	case errors.As(err, &ue):
		return o
	case err != nil:
		o.Status = -1
		return o
	}
	o.Status = http.StatusOK
	o.List = make(map[string]bool, len(l.Instances))
	for _, in := range l.Instances {
		o.List[Instance{IP: in.IP, Port: in.Port}.Addr()] = in.Healthy
	}
	return o
}

// pollOwner asks p who owns svc.
func pollOwner(round int, p *agentproc.Proc, svc string) (OwnerObs, bool) {
	o := OwnerObs{Round: round, Node: p.Name, Service: svc, Start: time.Now()}
	owner, err := ownerAt(p, svc)
	o.End = time.Now()
	if err != nil {
		return o, false
	}
	o.Owner = owner
	return o, true
}

// ownerAt asks p who owns svc.
func ownerAt(p *agentproc.Proc, svc string) (string, error) {
	n, err := api(p)
	if err != nil {
		return "", err
	}
	o, err := n.Owner(context.Background(), client.Service{Name: svc})
	return o.Owner, err
}
