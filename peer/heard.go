package peer

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/roster-io/roster/store"
)

// Last-heard reports (store/takeover.go): an owner tells every member,
// when it changes (HeardPlan says to whom at once) and every refresh
// otherwise, which partitions it owns and which of their
// instances it has not heard for store.QuietAfter, so whichever node takes
// a partition over next counts expiry from the last beat rather than from
// the takeover.

// Heard is an owner's report on one partition it owns: its quiet
// instances, sorted by ID.
type Heard struct {
	Partition int
	Quiet     []store.Quiet
	// Holds is set on a received report: how long past its arrival its
	// sender vouches for it, since it sends the report again, unchanged,
	// at least that often and a changed one at once (0: as of its arrival
	// only). A sender's own Heard leaves it 0 (ReportHeard's refresh).
	Holds time.Duration
}

// heardRequest is the body of POST /internal/v1/heard: the partitions
// the sender owns as a bitmap over the ring's Partitions (bit p of byte
// p/8), the quiet instances of those that have any, and how often at
// least the sender re-sends the report while it stays the same
// (RefreshMS; 0 or absent: no promise).
type heardRequest struct {
	Partitions int         `json:"partitions,omitempty"`
	Owned      []byte      `json:"owned,omitempty"`
	Quiet      []heardPart `json:"quiet,omitempty"`
	RefreshMS  int64       `json:"refresh_ms,omitempty"`
	// Same, instead of Partitions, Owned and Quiet, renews the report
	// the member last acknowledged: its key in 16 hex digits
	// (heard_renew.go).
	Same string `json:"same,omitempty"`
}

// heardPart is one partition's quiet instances: 12 bytes per instance,
// its ID and how long it has been quiet in milliseconds (little-endian;
// base64 in JSON), sorted by ID.
type heardPart struct {
	Partition int    `json:"p"`
	Quiet     []byte `json:"quiet"`
}

// quietEntryBytes is the size of one instance in heardPart.Quiet.
const quietEntryBytes = 12

// maxQuietAge caps the age a report can claim (the encoding's milliseconds
// would allow 49 days).
const maxQuietAge = 24 * time.Hour

// maxHeardRefresh caps the refresh a report may promise (a second per
// member of a 600-node cluster).
const maxHeardRefresh = 10 * time.Minute

// encodeHeard encodes parts for a ring of count partitions, re-sent
// unchanged every refresh.
func encodeHeard(count int, parts []Heard, refresh time.Duration) *heardRequest {
	req := &heardRequest{Partitions: count, Owned: make([]byte, (count+7)/8), RefreshMS: min(refresh, maxHeardRefresh).Milliseconds()}
	for _, h := range parts {
		req.Owned[h.Partition/8] |= 1 << (h.Partition % 8)
		if len(h.Quiet) == 0 {
			continue
		}
		b := appendQuiet(make([]byte, 0, len(h.Quiet)*quietEntryBytes), h.Quiet)
		req.Quiet = append(req.Quiet, heardPart{Partition: h.Partition, Quiet: b})
	}
	return req
}

// appendQuiet appends the entries of qs to b: each instance's ID and how
// long it has been quiet in milliseconds (within 0 and maxQuietAge).
func appendQuiet(b []byte, qs []store.Quiet) []byte {
	for _, q := range qs {
		ms := min(q.Age, maxQuietAge).Milliseconds()
		b = binary.LittleEndian.AppendUint64(b, q.ID)
		b = binary.LittleEndian.AppendUint32(b, uint32(max(ms, 0)))
	}
	return b
}

// decode checks the request against a ring of count partitions and
// decodes it, in partition order: the same ring size, every quiet
// partition owned and named once, whole entries, at most
// store.MaxQuietPerPartition of them, IDs strictly ascending, ages within
// maxQuietAge, a refresh within maxHeardRefresh.
func (r *heardRequest) decode(count int) ([]Heard, error) {
	if r.Partitions != count || len(r.Owned) != (count+7)/8 {
		return nil, fmt.Errorf("peer: heard: partitions: a bitmap of %d partitions in %d bytes for a ring of %d", r.Partitions, len(r.Owned), count)
	}
	if r.RefreshMS < 0 || r.RefreshMS > maxHeardRefresh.Milliseconds() {
		return nil, fmt.Errorf("peer: heard: refresh_ms: %d, want 0 to %d", r.RefreshMS, maxHeardRefresh.Milliseconds())
	}
	holds := time.Duration(r.RefreshMS) * time.Millisecond
	owned := func(p int) bool { return p >= 0 && p < count && r.Owned[p/8]&(1<<(p%8)) != 0 }
	quiet := make(map[int][]store.Quiet, len(r.Quiet))
	for i, p := range r.Quiet {
		if !owned(p.Partition) {
			return nil, fmt.Errorf("peer: heard: quiet[%d].p: partition %d is not one the report owns", i, p.Partition)
		}
		if _, dup := quiet[p.Partition]; dup {
			return nil, fmt.Errorf("peer: heard: quiet[%d].p: partition %d named twice", i, p.Partition)
		}
		q, err := decodeQuiet(p.Quiet)
		if err != nil {
			return nil, fmt.Errorf("peer: heard: quiet[%d].quiet: %w", i, err)
		}
		quiet[p.Partition] = q
	}
	var out []Heard
	for p := range count {
		if owned(p) {
			out = append(out, Heard{Partition: p, Quiet: quiet[p], Holds: holds})
		}
	}
	return out, nil
}

// decodeQuiet decodes one partition's quiet entries.
func decodeQuiet(b []byte) ([]store.Quiet, error) {
	n := len(b) / quietEntryBytes
	switch {
	case len(b)%quietEntryBytes != 0:
		return nil, fmt.Errorf("%d bytes is not whole entries of %d", len(b), quietEntryBytes)
	case n > store.MaxQuietPerPartition:
		return nil, fmt.Errorf("%d entries, at most %d", n, store.MaxQuietPerPartition)
	}
	out := make([]store.Quiet, n)
	for j := range out {
		e := b[j*quietEntryBytes:]
		out[j] = store.Quiet{ID: binary.LittleEndian.Uint64(e), Age: time.Duration(binary.LittleEndian.Uint32(e[8:])) * time.Millisecond}
		if j > 0 && out[j].ID <= out[j-1].ID {
			return nil, fmt.Errorf("entry %d: IDs not strictly ascending", j)
		}
		if out[j].Age > maxQuietAge {
			return nil, fmt.Errorf("entry %d: age %v over %v", j, out[j].Age, maxQuietAge)
		}
	}
	return out, nil
}

// ReportHeard sends this node's report on a ring of count partitions to
// the members, every member told a change at once (ReportHeardTo with
// every member an heir).
func (t *Transport) ReportHeard(ctx context.Context, count int, parts []Heard, refresh time.Duration) (failed int, err error) {
	return t.ReportHeardTo(ctx, count, parts, HeardPlan{Refresh: refresh})
}

// ReportHeardTo sends this node's report on a ring of count partitions to
// the members that are due it (HeardPlan) and waits for them (each bounded
// by ctx); it returns how many members could not be told, and one of the
// errors.
//
// A member that was last told the same report within the refresh is
// skipped: same owned partitions and the same quiet instances (their ages
// aside, which count from the report's arrival, so an older report still
// gives the same last-heard times). The report carries the refresh, so
// the member takes its copy to hold until that long after its arrival
// (Heard.Holds). A report is sent to every member every time when the
// refresh is 0.
func (t *Transport) ReportHeardTo(ctx context.Context, count int, parts []Heard, plan HeardPlan) (failed int, err error) {
	req := encodeHeard(count, parts, plan.Refresh)
	key, now := req.key(), t.cfg.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	renew := &heardRequest{RefreshMS: req.RefreshMS, Same: fmt.Sprintf("%016x", key)}
	for _, q := range t.list() {
		due := t.heardDue(q.m, key, now, plan)
		if due == heardNone {
			continue
		}
		wg.Go(func() {
			whole, e := t.sendHeard(ctx, q.m, due, req, renew)
			t.heardDelivered(q.m, heardMark{key: key, removals: plan.Removals, epoch: q.m.Epoch, at: now}, whole, e == nil)
			if e != nil {
				mu.Lock()
				failed, err = failed+1, e
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.stats.HeardOwed.Store(int64(t.heardOwed(key, plan.Removals)))
	return failed, err
}

// heardMark is the last report a member acknowledged: its key, the
// sender's HeardPlan.Removals when it was sent, when it was acknowledged
// and when the member was last sent a whole report.
type heardMark struct {
	key, removals uint64
	epoch         int64
	at, whole     time.Time
}

// heardDue reports what m must be sent now of the report of key: nothing,
// the whole report, or a renewal (m holds it, and it is a refresh old).
// The whole report goes at once to a member that holds none of this
// node's, or whose copy may list as quiet an instance the report no
// longer lists (plan.Removals grew since); when the copy may only lack
// partitions or quiet instances the report has, or list partitions it no
// longer has without quiet instances, at once to an heir (plan.Pace after
// its last whole report at the earliest), and to any other member in
// place of its next renewal.
func (t *Transport) heardDue(m Member, key uint64, now time.Time, plan HeardPlan) heardSend {
	t.mu.Lock()
	last, ok := t.heardSent[m.Name]
	t.mu.Unlock()
	switch {
	case plan.Refresh <= 0 || !ok || last.epoch != m.Epoch || last.removals != plan.Removals:
		return heardFull
	case last.key == key:
		if now.Sub(last.at) >= plan.Refresh {
			return heardRenew
		}
		return heardNone
	case plan.Heirs == nil || plan.Heirs(m.Name):
		if now.Sub(last.whole) >= plan.Pace {
			return heardFull
		}
		return heardNone
	case now.Sub(last.at) >= plan.Refresh:
		return heardFull
	}
	return heardNone
}

// heardDelivered records that m acknowledged the report of mark (whole:
// sent whole, not renewed), or forgets what m had when it did not.
func (t *Transport) heardDelivered(m Member, mark heardMark, whole, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok {
		delete(t.heardSent, m.Name)
		return
	}
	if t.heardSent == nil {
		t.heardSent = map[string]heardMark{}
	}
	mark.whole = t.heardSent[m.Name].whole
	if whole {
		mark.whole = mark.at
	}
	t.heardSent[m.Name] = mark
}

// key fingerprints the report without the quiet instances' ages.
func (r *heardRequest) key() uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(r.Partitions))
	h.Write(b[:])
	h.Write(r.Owned)
	for _, p := range r.Quiet {
		binary.LittleEndian.PutUint64(b[:], uint64(p.Partition))
		h.Write(b[:])
		for i := 0; i+quietEntryBytes <= len(p.Quiet); i += quietEntryBytes {
			h.Write(p.Quiet[i : i+8]) // the instance ID, not its age
		}
	}
	return h.Sum64()
}

// heard handles POST /internal/v1/heard.
func (s *Server) heard(w http.ResponseWriter, r *http.Request, from Member) {
	var req heardRequest
	if err := readBody(r, &req, internalMaxBody, s.stats); err != nil {
		writeError(w, err)
		return
	}
	if req.Same != "" {
		s.renewHeard(w, &req, from)
		return
	}
	parts, err := req.decode(s.recv.PartitionCount())
	if err != nil {
		s.cfg.Logger.Warn("refused a peer's last-heard report", "from", from.Name, "err", err)
		writeError(w, &RemoteError{Status: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	s.recv.HandleHeard(from, req.key(), parts)
	writeJSON(w, http.StatusOK, struct{}{})
}
