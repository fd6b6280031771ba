package chaos

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// ownerLog records, by service, when some node's answer to GET
// /v1/cluster/owner changed.
type ownerLog struct {
	mu      sync.Mutex // guards the fields below
	last    map[[2]string]string
	changes map[int][]ownerObs
}

type ownerObs struct {
	t     time.Time
	owner string
}

func (o *ownerLog) poll(p *agentproc.Proc, s int) {
	_, body, err := do(http.MethodGet, p.HTTP, "/v1/cluster/owner", url.Values{"service": {checkService(s)}}, nil, time.Second)
	var ow struct {
		Owner string `json:"owner"`
	}
	if err != nil || json.Unmarshal(body, &ow) != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	k := [2]string{p.Name, checkService(s)}
	if prev, ok := o.last[k]; !ok || prev != ow.Owner {
		o.last[k] = ow.Owner
		o.changes[s] = append(o.changes[s], ownerObs{time.Now(), ow.Owner})
	}
}

// since returns the last change for service s at or before t, and the
// owner then.
func (o *ownerLog) since(s int, t time.Time) (time.Time, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var at time.Time
	owner := ""
	for _, c := range o.changes[s] {
		if c.t.After(t) {
			break
		}
		at, owner = c.t, c.owner
	}
	return at, owner
}

// after returns the first change for service s after t.
func (o *ownerLog) after(s int, t time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.changes[s] {
		if c.t.After(t) {
			return c.t, true
		}
	}
	return time.Time{}, false
}
