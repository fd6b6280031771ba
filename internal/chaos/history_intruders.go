package chaos

import (
	"slices"
	"time"
)

// What the intruders (intruders.go) saw, recorded in the History like
// everything else, so that the checker decides from the history alone and
// is tested on fabricated ones (checks_intruders.go).

// RSSSample is one reading of an agent's resident memory: VmRSS of
// /proc/PID/status, in KiB.
type RSSSample struct {
	T    time.Time
	Node string
	PID  int
	KiB  int64
}

// ForgedKind is what is wrong with a forged peer record.
type ForgedKind string

// The forged records.
const (
	// ForgedTiming: a beat timeout of MaxInt64 ns, which no client could
	// register and which would freeze the node's expiry.
	ForgedTiming ForgedKind = "timing"
	// ForgedName: a name no client could register (a control character in
	// the cluster, an IP that is not one).
	ForgedName ForgedKind = "name"
	// ForgedFuture: a valid record stamped an hour ahead of the clock.
	ForgedFuture ForgedKind = "future"
)

// ForgedOp is one forged POST /internal/v1/deltas: sent to Node in the
// name of the member As, carrying one record of kind Kind about Inst (a
// replicated delta, or with Repair an anti-entropy repair). Code is the
// answer's status (0: no answer). FutureBefore and FutureAfter are the
// node's roster_records_from_the_future_total read just before and after
// (0 when /metrics lacks it, -1 when /metrics did not answer); Restarted
// says the node's PID changed in between, which resets the counter.
type ForgedOp struct {
	Start, End                time.Time
	Node, As                  string
	Kind                      ForgedKind
	Repair                    bool
	Inst                      Instance
	Code                      int
	Body                      string
	FutureBefore, FutureAfter float64
	Restarted                 bool
}

// ForgedPoll is one read of a node's list of ForgedService: Status is the
// HTTP status (0: no answer) and Listed the ip:port of every instance it
// listed.
type ForgedPoll struct {
	T      time.Time
	Node   string
	Status int
	Listed []string
}

// OutsiderObs is one look at the outsider, the agent started with another
// gossip key: its own /readyz (Node is the outsider, Status the answer, 0
// for none), or a cluster node's member list (Node is the cluster node,
// Members the names it lists in any state; Status 200).
type OutsiderObs struct {
	T       time.Time
	Node    string
	Readyz  bool
	Status  int
	Members []string
}

// AddRSS records a memory reading.
func (h *History) AddRSS(s RSSSample) { h.mu.Lock(); h.rss = append(h.rss, s); h.mu.Unlock() }

// AddForged records a forged request and its answer.
func (h *History) AddForged(o ForgedOp) { h.mu.Lock(); h.forged = append(h.forged, o); h.mu.Unlock() }

// AddForgedPoll records a read of ForgedService.
func (h *History) AddForgedPoll(p ForgedPoll) {
	h.mu.Lock()
	h.forgedPolls = append(h.forgedPolls, p)
	h.mu.Unlock()
}

// AddACL records an attempt of the ACL prober.
func (h *History) AddACL(a ACLAttempt) {
	h.mu.Lock()
	h.acl = append(h.acl, a)
	h.mu.Unlock()
}

// AddOutsider records a look at the outsider.
func (h *History) AddOutsider(o OutsiderObs) {
	h.mu.Lock()
	h.outsider = append(h.outsider, o)
	h.mu.Unlock()
}

// intrusions is the sorted copy of the intruders' records in a snapshot.
type intrusions struct {
	rss         []RSSSample
	forged      []ForgedOp
	forgedPolls []ForgedPoll
	outsider    []OutsiderObs
	acl         []ACLAttempt
}

// intrusionsLocked copies and sorts the intruders' records; h.mu is held.
func (h *History) intrusionsLocked() intrusions {
	in := intrusions{rss: slices.Clone(h.rss), forged: slices.Clone(h.forged),
		forgedPolls: slices.Clone(h.forgedPolls), outsider: slices.Clone(h.outsider),
		acl: slices.Clone(h.acl)}
	slices.SortStableFunc(in.rss, func(a, b RSSSample) int { return a.T.Compare(b.T) })
	slices.SortStableFunc(in.forged, func(a, b ForgedOp) int { return a.Start.Compare(b.Start) })
	slices.SortStableFunc(in.forgedPolls, func(a, b ForgedPoll) int { return a.T.Compare(b.T) })
	slices.SortStableFunc(in.outsider, func(a, b OutsiderObs) int { return a.T.Compare(b.T) })
	return in
}
