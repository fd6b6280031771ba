package chaos

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// A History is the record of one run: what clients did and were told,
// what each node listed, and which faults the scenario injected. Check
// decides pass or fail from it alone. It is safe for concurrent use.

// Instance names one simulated service instance.
type Instance struct {
	Service string
	IP      string
	Port    int
}

func (i Instance) String() string { return fmt.Sprintf("%s/%s:%d", i.Service, i.IP, i.Port) }

// Addr is the instance's ip:port, the key of Obs.List.
func (i Instance) Addr() string { return fmt.Sprintf("%s:%d", i.IP, i.Port) }

// OpKind is what a client did.
type OpKind int

// The client operations.
const (
	OpRegister OpKind = iota
	OpBeat
	OpDeregister
	// OpSilent marks the moment an instance stopped beating without a word.
	OpSilent
)

func (k OpKind) String() string {
	return [...]string{"register", "beat", "deregister", "silent"}[k]
}

// Op is one client operation: started at Start, written to the
// connection at Sent (zero if it never was), answered (or failed) at End.
// A beat's Due is when the instance's schedule wanted it sent (zero for a
// retry); Sent - Due is the harness' own lateness, not roster's.
type Op struct {
	Kind  OpKind
	Inst  Instance
	Node  string
	Due   time.Time
	Start time.Time
	Sent  time.Time
	End   time.Time
	OK    bool
	// Shed: the node answered 429 (it sheds load; the client tried).
	Shed   bool
	Detail string
}

// sentAt is when the node could first see the operation.
func (o Op) sentAt() time.Time {
	if o.Sent.IsZero() {
		return o.Start
	}
	return o.Sent
}

// Obs is one poll of one node's list of one service: the request was sent
// at Start and answered at End. List maps ip:port to the instance's own
// health; it is nil unless Status is 200.
type Obs struct {
	Round   int
	Node    string
	Service string
	Start   time.Time
	End     time.Time
	Status  int
	List    map[string]bool
}

// OwnerObs is one node's answer to "who owns this service".
type OwnerObs struct {
	Round   int
	Node    string
	Service string
	Owner   string
	Start   time.Time
	End     time.Time
}

// EventKind is a fault or lifecycle step of the cluster.
type EventKind int

// The cluster events. A node is out of the checked set from Kill, Term or
// Start until Ready; Partition..Heal suspends the liveness checks.
const (
	EvStart EventKind = iota
	EvReady
	EvKill
	EvTerm
	EvPartition
	EvHeal
	// EvStall is the harness itself going without CPU from Since to T.
	EvStall
	// EvBrake is a node's expiry brake holding its expiries, at most from
	// Since to T (brakes.go).
	EvBrake
)

func (k EventKind) String() string {
	return [...]string{"start", "ready", "SIGKILL", "SIGTERM", "partition", "heal", "harness-stall", "expiry-brake"}[k]
}

// lifecycle reports whether k changes the cluster (membership or the
// network), as opposed to a measurement of the harness or a node.
func (k EventKind) lifecycle() bool { return k != EvStall && k != EvBrake }

// Event is one cluster event at time T (a stall lasts from Since to T).
type Event struct {
	Kind   EventKind
	Node   string
	T      time.Time
	Since  time.Time
	Detail string
}

// Finding is something a scenario saw directly that is already a
// violation, such as a 5xx answer to bad input or a node that exited on
// its own.
type Finding struct {
	T      time.Time
	Node   string
	What   string
	Detail string
}

// History collects a run. The zero value is not usable; use NewHistory.
type History struct {
	// mu guards everything below.
	mu       sync.Mutex
	ops      []Op
	obs      []Obs
	owners   []OwnerObs
	events   []Event
	findings []Finding
	end      time.Time
	// The intruders' records (history_intruders.go).
	rss         []RSSSample
	forged      []ForgedOp
	forgedPolls []ForgedPoll
	outsider    []OutsiderObs
	acl         []ACLAttempt
	// The flood's records (flood.go).
	flood     []FloodSecond
	floodPlan FloodPlan
	machine   []MachineSample
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{} }

// AddOp records a client operation.
func (h *History) AddOp(o Op) { h.mu.Lock(); h.ops = append(h.ops, o); h.mu.Unlock() }

// AddObs records a poll.
func (h *History) AddObs(o Obs) { h.mu.Lock(); h.obs = append(h.obs, o); h.mu.Unlock() }

// AddOwner records an owner answer.
func (h *History) AddOwner(o OwnerObs) { h.mu.Lock(); h.owners = append(h.owners, o); h.mu.Unlock() }

// AddEvent records a cluster event.
func (h *History) AddEvent(e Event) { h.mu.Lock(); h.events = append(h.events, e); h.mu.Unlock() }

// AddFinding records a direct violation.
func (h *History) AddFinding(f Finding) {
	h.mu.Lock()
	h.findings = append(h.findings, f)
	h.mu.Unlock()
}

// AddFlood records what the flood's requests to one node in one second
// got.
func (h *History) AddFlood(s FloodSecond) { h.mu.Lock(); h.flood = append(h.flood, s); h.mu.Unlock() }

// AddMachine records how much CPU other work on the machine used.
func (h *History) AddMachine(m MachineSample) {
	h.mu.Lock()
	h.machine = append(h.machine, m)
	h.mu.Unlock()
}

// SetFloodPlan records the flood's measured capacity and offered rate.
func (h *History) SetFloodPlan(p FloodPlan) { h.mu.Lock(); h.floodPlan = p; h.mu.Unlock() }

// SetEnd marks the end of observation.
func (h *History) SetEnd(t time.Time) { h.mu.Lock(); h.end = t; h.mu.Unlock() }

// snapshot is a sorted copy of a history for the checker.
type snapshot struct {
	ops      []Op
	obs      []Obs
	owners   []OwnerObs
	events   []Event
	findings []Finding
	end      time.Time
	intrusions
	flood     []FloodSecond
	floodPlan FloodPlan
	machine   []MachineSample
}

func (h *History) snapshot() snapshot {
	h.mu.Lock()
	s := snapshot{ops: slices.Clone(h.ops), obs: slices.Clone(h.obs), owners: slices.Clone(h.owners),
		events: slices.Clone(h.events), findings: slices.Clone(h.findings), end: h.end, intrusions: h.intrusionsLocked(),
		flood: slices.Clone(h.flood), floodPlan: h.floodPlan, machine: slices.Clone(h.machine)}
	h.mu.Unlock()
	slices.SortStableFunc(s.ops, func(a, b Op) int { return a.Start.Compare(b.Start) })
	slices.SortStableFunc(s.obs, func(a, b Obs) int { return a.Start.Compare(b.Start) })
	slices.SortStableFunc(s.owners, func(a, b OwnerObs) int { return a.Start.Compare(b.Start) })
	slices.SortStableFunc(s.events, func(a, b Event) int { return a.T.Compare(b.T) })
	slices.SortStableFunc(s.flood, func(a, b FloodSecond) int { return a.T.Compare(b.T) })
	if s.end.IsZero() {
		for _, o := range s.obs {
			if o.End.After(s.end) {
				s.end = o.End
			}
		}
	}
	return s
}

// Counts reports acknowledged writes, failed client operations and
// injected faults.
func (h *History) Counts() (acked, failed, faults int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.ops {
		switch {
		case o.Kind == OpSilent:
		case o.OK:
			acked++
		default:
			failed++
		}
	}
	for _, e := range h.events {
		if e.Kind == EvKill || e.Kind == EvTerm || e.Kind == EvPartition {
			faults++
		}
	}
	return acked, failed, faults
}
