package node

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// Internal endpoints under /internal/v1/, used only between nodes. A
// request must name its sender in NodeHeader, the sender must be a live
// member, and the request must come from that member's advertised HTTP
// host; anything else is 403. When the cluster has a secret, the request
// must first carry a valid HMAC signature (hmac.go), else 401.

// internalMaxBody bounds internal request bodies (anti-entropy may push a
// large partition at once).
const internalMaxBody = 256 << 20

// internal adapts an internal handler with the membership check.
func (n *Node) internal(fn func(w http.ResponseWriter, r *http.Request, from member)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.sec.internalKey != nil {
			if err := n.verifyInternal(r); err != nil {
				jsonError(w, err)
				return
			}
		}
		from, err := n.checkPeer(r)
		if err != nil {
			jsonError(w, err)
			return
		}
		fn(w, r, from)
	}
}

// checkPeer verifies an internal request comes from a member.
func (n *Node) checkPeer(r *http.Request) (member, error) {
	name := r.Header.Get(NodeHeader)
	m, ok := n.cluster.isMember(name)
	if !ok {
		return member{}, errForbidden
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return member{}, errForbidden
	}
	mhost, _, err := net.SplitHostPort(m.HTTPAddr)
	if err != nil {
		return member{}, errForbidden
	}
	gossipHost, _, _ := net.SplitHostPort(m.GossipAddr)
	if !sameHost(host, mhost) && !sameHost(host, gossipHost) {
		return member{}, errForbidden
	}
	return m, nil
}

// sameHost compares two host strings as IPs when both parse.
func sameHost(a, b string) bool {
	ia, ib := net.ParseIP(a), net.ParseIP(b)
	if ia != nil && ib != nil {
		return ia.Equal(ib) || ia.IsLoopback() && ib.IsLoopback()
	}
	return strings.EqualFold(a, b)
}

// internalDeltas handles POST /internal/v1/deltas.
func (n *Node) internalDeltas(w http.ResponseWriter, r *http.Request, from member) {
	var req deltasRequest
	if err := readBody(r, &req, internalMaxBody); err != nil {
		jsonError(w, err)
		return
	}
	if req.Repair {
		writeJSON(w, http.StatusOK, deltasReply{Applied: n.merge(req.Records, false)})
		return
	}
	n.stats.deltaReceived.Add(uint64(len(req.Records)))
	applied := n.merge(req.Records, true)
	n.stats.deltaApplied.Add(uint64(applied))
	writeJSON(w, http.StatusOK, deltasReply{Applied: applied})
}

// internalBeats handles POST /internal/v1/beats: beats handed off to this
// node as the owner. They are applied here, never forwarded again.
func (n *Node) internalBeats(w http.ResponseWriter, r *http.Request, from member) {
	var req beatsRequest
	if err := n.decodeJSONLimit(r, &req, internalMaxBody); err != nil {
		jsonError(w, err)
		return
	}
	out := beatsReply{Answers: make([]beatAnswer, len(req.Beats))}
	if now := n.cfg.Now(); n.staleHandoff(req.Sent, now) {
		n.log.Info("refused a stale beat hand-off", "from", from.Name, "beats", len(req.Beats),
			"age", now.Sub(time.Unix(0, req.Sent)).Round(time.Millisecond))
		for i := range out.Answers {
			out.Answers[i].Error = errStaleHandoff
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	for i, b := range req.Beats {
		interval, found, err := n.beatLocal(r.Context(), b.Key, b.Instance, b.Register)
		out.Answers[i] = beatAnswer{Found: found, IntervalMs: interval.Milliseconds()}
		if err != nil {
			out.Answers[i].Error, out.Answers[i].Status = err.Error(), statusOf(err)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// internalDump handles GET /internal/v1/dump: every record, for a peer
// that is syncing.
func (n *Node) internalDump(w http.ResponseWriter, r *http.Request, from member) {
	writeBody(w, r, http.StatusOK, &dumpReply{Records: n.store.Records()})
}

// internalDigest handles POST /internal/v1/digest: Equal when the
// caller's digest root matches, else this node's digest vector.
func (n *Node) internalDigest(w http.ResponseWriter, r *http.Request, from member) {
	var req digestRequest
	if err := n.decodeJSONLimit(r, &req, internalMaxBody); err != nil {
		jsonError(w, err)
		return
	}
	mine := n.store.Digests()
	if digestRoot(mine) == req.Root {
		writeJSON(w, http.StatusOK, digestReply{Equal: true})
		return
	}
	writeJSON(w, http.StatusOK, digestReply{Digests: encodeDigests(mine)})
}

// internalPull handles POST /internal/v1/pull: this node's records of the
// partitions asked for.
func (n *Node) internalPull(w http.ResponseWriter, r *http.Request, from member) {
	var req pullRequest
	if !n.readPartitionsRequest(w, r, &req, &req.Partitions) {
		return
	}
	if len(req.IDs) > 0 {
		writeBody(w, r, http.StatusOK, &deltasRequest{Records: n.store.RecordsByID(req.Partitions, decodeIDs(req.IDs))})
		return
	}
	writeBody(w, r, http.StatusOK, &deltasRequest{Records: n.store.PartitionRecords(req.Partitions)})
}
