package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/roster-io/roster/internal/secret"
	"github.com/roster-io/roster/store"
)

// Internal endpoints under /internal/v1/, used only between nodes. A
// request must name its sender in NodeHeader, the sender must be a live
// member, and the request must come from that member's advertised HTTP
// or gossip host; anything else is 403. When the cluster has a secret,
// the request must first carry a valid HMAC signature (hmac.go), else 401.

// internalMaxBody bounds internal request bodies (anti-entropy may push a
// large partition at once).
const internalMaxBody = 256 << 20

// Receiver is what the transport's endpoints call: the core of the node
// that serves them.
type Receiver interface {
	// Member returns the live member named name, other than this node.
	Member(name string) (Member, bool)
	// Merge applies records a peer sent and returns how many were newer
	// than what this node held. fresh marks replicated writes (not
	// anti-entropy repairs).
	Merge(recs []store.Record, fresh bool) int
	// HandleBeat applies a beat handed off to this node as its owner and
	// returns the beat interval and whether the instance was found, or
	// ErrStaleHandoff when this node must not act on it (the sender then
	// handles the beat itself).
	HandleBeat(ctx context.Context, b BeatCall) (time.Duration, bool, error)
	// PeerReady records that member m became ready.
	PeerReady(m Member)
	// HandleHeard records member m's last-heard report on the partitions
	// it owns; key fingerprints it (without the quiet ages).
	HandleHeard(m Member, key uint64, parts []Heard)
	// RenewHeard records that m's last report, of key, still stands, for
	// holds more; false when the last report held of m is not that one
	// (m then sends it whole).
	RenewHeard(m Member, key uint64, holds time.Duration) bool
	// HeldHeard returns, by partition, the last report this node holds
	// and its sender, as a takeover from it would read it, for the member
	// named asker (a node syncing): those asker sent itself are left out
	// if this node saw it leave.
	HeldHeard(asker string) map[int]Held
	// Store is the registry the dump, digest, summary and pull
	// endpoints read.
	Store() *store.Store
	// PartitionCount is the ring's number of partitions.
	PartitionCount() int
	// Synced reports whether this node holds the registry: it has
	// pulled it from a peer or started the cluster. Until then it
	// refuses dumps and pulls (errNotSynced).
	Synced() bool
}

// Server answers the internal endpoints for one node. Build it with
// NewServer and register its Routes on the HTTP port's mux.
type Server struct {
	t      *Transport
	cfg    Config
	recv   Receiver
	stats  *Stats
	key    []byte // nil: requests are not signed
	nonces *nonceCache
	// streamRoutes are the handlers the stream carries, by path; written
	// only by Routes, before serving.
	streamRoutes map[string]handlerFunc
	streams      accepted
}

// NewServer builds the endpoints of a node whose core is recv, counting
// into t's stats. Once its Routes are registered, it also answers the
// peers' requests on the duplex connections t dials.
func NewServer(t *Transport, recv Receiver) *Server {
	s := &Server{t: t, cfg: t.cfg, recv: recv, stats: &t.stats, nonces: newNonceCache(),
		streamRoutes: map[string]handlerFunc{}}
	if t.cfg.Secret != nil {
		s.key = secret.Derive(t.cfg.Secret, internalKeyLabel)
	}
	return s
}

// Routes registers the endpoints (paths under /internal/v1/) on mux.
// Every POST endpoint registered with route is also carried by the stream
// (stream_serve.go).
func (s *Server) Routes(mux *http.ServeMux) {
	s.route(mux, "POST /internal/v1/deltas", s.deltas)
	s.route(mux, "POST /internal/v1/beats", s.beats)
	s.route(mux, "GET /internal/v1/dump", s.dump)
	s.route(mux, "POST /internal/v1/digest", s.digest)
	s.route(mux, "POST /internal/v1/pull", s.pull)
	s.route(mux, "POST /internal/v1/summary", s.summary)
	s.route(mux, "POST /internal/v1/summary/sub", s.subSummary)
	s.route(mux, "POST /internal/v1/ready", s.ready)
	s.route(mux, "POST /internal/v1/heard", s.heard)
	s.route(mux, "POST /internal/v1/heard/held", s.heardHeld)
	s.route(mux, "POST /internal/v1/lastbeats", s.lastBeats)
	s.route(mux, "POST /internal/v1/leases", s.leases)
	s.route(mux, "POST /internal/v1/closed", s.closed)
	mux.HandleFunc("POST "+streamPath, s.internal(s.acceptStream))
	s.t.srv.Store(s) // streamRoutes are complete: t may dial duplex connections
}

// Signed reports whether internal requests must be signed.
func (s *Server) Signed() bool { return s.key != nil }

// internal adapts an internal handler with the signature and membership
// checks.
func (s *Server) internal(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.key != nil {
			if err := s.verifyInternal(r); err != nil {
				writeError(w, err)
				return
			}
		}
		from, err := s.checkPeer(r)
		if err != nil {
			writeError(w, err)
			return
		}
		fn(w, r, from)
	}
}

// checkPeer verifies an internal request comes from a member.
func (s *Server) checkPeer(r *http.Request) (Member, error) {
	return s.member(r.Header.Get(NodeHeader), r.RemoteAddr)
}

// sameHost compares two host strings as IPs when both parse.
func sameHost(a, b string) bool {
	ia, ib := net.ParseIP(a), net.ParseIP(b)
	if ia != nil && ib != nil {
		return ia.Equal(ib) || ia.IsLoopback() && ib.IsLoopback()
	}
	return strings.EqualFold(a, b)
}

// deltas handles POST /internal/v1/deltas.
func (s *Server) deltas(w http.ResponseWriter, r *http.Request, from Member) {
	var req deltasRequest
	if err := readBody(r, &req, internalMaxBody, s.stats); err != nil {
		s.refused(from, err)
		writeError(w, err)
		return
	}
	if req.Repair {
		writeApplied(w, s.recv.Merge(req.Records, false))
		return
	}
	s.stats.DeltaReceived.Add(uint64(len(req.Records)))
	applied := s.recv.Merge(req.Records, true)
	s.stats.DeltaApplied.Add(uint64(applied))
	writeApplied(w, applied)
}

// refused logs a request refused for the invalid records or beats it
// carried: a peer that sends them runs other code or is broken.
func (s *Server) refused(from Member, err error) {
	var bad *RecordError
	if errors.As(err, &bad) {
		s.cfg.Logger.Warn("refused a peer's request holding invalid records", "from", from.Name, "err", err)
	}
}

// beats handles POST /internal/v1/beats: beats handed off to this node as
// the owner. They are applied here, never forwarded again.
//
// A node that hands a beat to its owner waits at most HandoffTimeout and
// then handles the beat itself, so a hand-off that reaches the owner later
// has been dealt with already, and acting on it can only do harm: a beat
// request caught in a partition sits in the sender's TCP buffer after the
// sender gave up, and when the partition heals the kernel delivers it; its
// re-registration body would then revive an instance its client
// deregistered in the meantime. So the owner refuses a hand-off sent more
// than HandoffTimeout plus HandoffSkew ago, and a sender still waiting when
// told so handles the beat itself.
func (s *Server) beats(w http.ResponseWriter, r *http.Request, from Member) {
	var req beatsRequest
	if err := readBody(r, &req, internalMaxBody, s.stats); err != nil {
		s.refused(from, err)
		writeError(w, err)
		return
	}
	now := s.cfg.Now()
	if req.Sent != 0 && now.Sub(time.Unix(0, req.Sent)) > s.cfg.HandoffTimeout+HandoffSkew {
		s.cfg.Logger.Info("refused a stale beat hand-off", "from", from.Name, "beats", len(req.Beats),
			"age", now.Sub(time.Unix(0, req.Sent)).Round(time.Millisecond))
		out := beatsReply{Answers: make([]BeatAnswer, len(req.Beats))}
		for i := range out.Answers {
			out.Answers[i] = BeatAnswer{Stale: true, Error: ErrStaleHandoff.Error()}
		}
		writeBody(w, r, http.StatusOK, &out)
		return
	}
	out := beatsReply{Answers: make([]BeatAnswer, len(req.Beats))}
	for i, b := range req.Beats {
		interval, found, err := s.recv.HandleBeat(r.Context(), b)
		out.Answers[i] = BeatAnswer{Found: found, IntervalMs: interval.Milliseconds()}
		switch {
		case errors.Is(err, ErrStaleHandoff):
			out.Answers[i] = BeatAnswer{Stale: true, Error: err.Error()}
		case err != nil:
			out.Answers[i].Error, out.Answers[i].Status = err.Error(), s.cfg.StatusOf(err)
		}
	}
	writeBody(w, r, http.StatusOK, &out)
}

// dump handles GET /internal/v1/dump: every record, for a peer that is
// syncing.
func (s *Server) dump(w http.ResponseWriter, r *http.Request, from Member) {
	if !s.recv.Synced() {
		writeError(w, errNotSynced)
		return
	}
	writeBody(w, r, http.StatusOK, &dumpReply{Records: s.recv.Store().Records()})
}

// digest handles POST /internal/v1/digest: Equal when the caller's digest
// root matches, else this node's digest vector.
func (s *Server) digest(w http.ResponseWriter, r *http.Request, from Member) {
	var req digestRequest
	if err := readBody(r, &req, internalMaxBody, s.stats); err != nil {
		writeError(w, err)
		return
	}
	mine := s.recv.Store().Digests()
	if DigestRoot(mine) == req.Root {
		writeJSON(w, http.StatusOK, digestReply{Equal: true})
		return
	}
	writeJSON(w, http.StatusOK, digestReply{Digests: encodeWords(mine)})
}

// pull handles POST /internal/v1/pull: this node's records of the
// partitions asked for, all of them or those IDs.
func (s *Server) pull(w http.ResponseWriter, r *http.Request, from Member) {
	var req pullRequest
	if !s.readPartitions(w, r, &req, &req.Partitions) {
		return
	}
	if !s.recv.Synced() {
		writeError(w, errNotSynced)
		return
	}
	st := s.recv.Store()
	if len(req.IDs) > 0 {
		writeBody(w, r, http.StatusOK, &deltasRequest{Records: st.RecordsByID(req.Partitions, decodeIDs(req.IDs))})
		return
	}
	writeBody(w, r, http.StatusOK, &deltasRequest{Records: st.PartitionRecords(req.Partitions)})
}

// summary handles POST /internal/v1/summary.
func (s *Server) summary(w http.ResponseWriter, r *http.Request, from Member) {
	var req summaryRequest
	if !s.readPartitions(w, r, &req, &req.Partitions) {
		return
	}
	sums := s.recv.Store().Summaries(req.Partitions)
	out := summaryReply{Summaries: make([][]byte, len(sums))}
	for i, es := range sums {
		out.Summaries[i] = store.AppendSummary(make([]byte, 0, len(es)*store.SummaryEntryBytes), es)
	}
	writeBody(w, r, http.StatusOK, &out)
}

// ready handles POST /internal/v1/ready: the sender became ready.
func (s *Server) ready(w http.ResponseWriter, r *http.Request, from Member) {
	s.stats.ReadyHints.Add(1)
	s.recv.PeerReady(from)
	writeJSON(w, http.StatusOK, struct{}{})
}

// errNotSynced answers a dump or a pull asked of a node that has not
// synced: its registry may be empty or partial (it restarted moments ago),
// and a peer syncing from it would turn ready without the registry. The
// peer's view of this node can still say ready for a while after a
// restart on the same address, from before it.
var errNotSynced = &RemoteError{Status: http.StatusServiceUnavailable, Msg: "peer: not synced: this node is still pulling the registry"}

// readPartitions decodes an internal JSON request into v and refuses the
// partition numbers in *parts that are outside the ring. On a bad request
// it answers the error and reports false.
func (s *Server) readPartitions(w http.ResponseWriter, r *http.Request, v any, parts *[]int) bool {
	if err := readBody(r, v, internalMaxBody, s.stats); err != nil {
		writeError(w, err)
		return false
	}
	count := s.recv.PartitionCount()
	for _, p := range *parts {
		if p < 0 || p >= count {
			writeError(w, &RemoteError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("peer: partitions: partition %d outside 0..%d", p, count-1)})
			return false
		}
	}
	return true
}
