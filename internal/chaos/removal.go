package chaos

import (
	"slices"
	"sort"
	"time"
)

// removalLateness measures, for every silent instance, how long after its
// delete timeout from its last beat the last node that counts stopped
// listing it, and records the p99 and maximum over the instances in the
// result. It is what the crashloop scenario reports: lateness from the
// client's last beat, not from a takeover.
func (c *checker) removalLateness(byNS map[[2]string][]Obs, nodes []string) {
	var late []time.Duration
	for svc, plans := range c.plans {
		for _, p := range plans {
			if !p.silent {
				continue
			}
			if gone, ok := c.goneEverywhere(byNS, nodes, svc, p); ok {
				late = append(late, gone.Sub(p.last.Add(c.b.DeleteTimeout)))
			}
		}
	}
	if len(late) == 0 {
		return
	}
	slices.Sort(late)
	c.res.Removals = len(late)
	c.res.RemovalLatenessMax = late[len(late)-1]
	c.res.RemovalLatenessP99 = late[min(len(late)-1, len(late)*99/100)]
}

// goneEverywhere returns when the last node that counts over p's expiry
// was first seen without the instance, and false if some such node was
// never seen without it.
func (c *checker) goneEverywhere(byNS map[[2]string][]Obs, nodes []string, svc string, p *plan) (time.Time, bool) {
	addr := p.inst.Addr()
	var gone time.Time
	for _, n := range nodes {
		if !c.counts(n, p.last, p.absent) {
			continue
		}
		list := byNS[[2]string{n, svc}]
		i := sort.Search(len(list), func(i int) bool { return !list[i].Start.Before(p.last) })
		found := false
		for ; i < len(list) && list[i].Start.Before(p.absent.Add(5*time.Second)); i++ {
			if _, listed := list[i].List[addr]; !listed {
				gone, found = maxTime(gone, list[i].End), true
				break
			}
		}
		if !found {
			return time.Time{}, false
		}
	}
	return gone, !gone.IsZero()
}
