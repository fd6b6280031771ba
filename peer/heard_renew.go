package peer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Renewals. A member that holds an owner's report gets, every refresh
// while the report stays the same, a renewal instead of the whole report
// again: its key and the refresh, 46 bytes of JSON instead of the bitmap
// of the ring's partitions (512 bytes for 4,093, base64 in JSON) and the
// quiet lists. The ring's size is not repeated: the key covers it. A
// member that does not hold that report (it restarted, or the report it
// holds is another) answers 409, and the owner sends the whole report at
// once; a build that required the size answers 400, with the same
// effect.

// heardSend is what ReportHeard sends a member.
type heardSend int

const (
	heardNone  heardSend = iota // the member's copy is current
	heardFull                   // the whole report
	heardRenew                  // a renewal of the copy it holds
)

// sendHeard sends m the report (req) or its renewal, and the whole report
// when m refuses the renewal; whole is whether it sent the whole report.
func (t *Transport) sendHeard(ctx context.Context, m Member, due heardSend, req, renew *heardRequest) (whole bool, err error) {
	if due == heardRenew {
		err := t.call(ctx, KindHeard, m, http.MethodPost, "/internal/v1/heard", renew, nil)
		// 409: the member holds another copy; 400: an older build that
		// reads a renewal as a malformed report.
		if st := answerStatus(err); st != http.StatusConflict && st != http.StatusBadRequest {
			return false, err
		}
	}
	return true, t.call(ctx, KindHeard, m, http.MethodPost, "/internal/v1/heard", req, nil)
}

// renewHeard handles a renewal: 409 when this node's last report from the
// sender is not the one renewed.
func (s *Server) renewHeard(w http.ResponseWriter, req *heardRequest, from Member) {
	key, err := req.decodeSame(s.recv.PartitionCount())
	if err != nil {
		s.cfg.Logger.Warn("refused a peer's last-heard renewal", "from", from.Name, "err", err)
		writeError(w, &RemoteError{Status: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	if !s.recv.RenewHeard(from, key, time.Duration(req.RefreshMS)*time.Millisecond) {
		writeError(w, &RemoteError{Status: http.StatusConflict, Msg: fmt.Sprintf("peer: heard: same: the last report held from %s is not %s; send it whole", from.Name, req.Same)})
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// decodeSame checks a renewal against a ring of count partitions: no
// ring size or the same (builds that sent it), no bitmap or quiet lists,
// a key of 16 hex digits, a refresh within maxHeardRefresh.
func (r *heardRequest) decodeSame(count int) (uint64, error) {
	switch {
	case r.Partitions != 0 && r.Partitions != count:
		return 0, fmt.Errorf("peer: heard: partitions: %d for a ring of %d", r.Partitions, count)
	case len(r.Owned) != 0 || len(r.Quiet) != 0:
		return 0, errors.New("peer: heard: same: a renewal carries no owned bitmap or quiet lists")
	case r.RefreshMS < 0 || r.RefreshMS > maxHeardRefresh.Milliseconds():
		return 0, fmt.Errorf("peer: heard: refresh_ms: %d, want 0 to %d", r.RefreshMS, maxHeardRefresh.Milliseconds())
	case len(r.Same) != 16:
		return 0, fmt.Errorf("peer: heard: same: %q is not 16 hex digits", r.Same)
	}
	key, err := strconv.ParseUint(r.Same, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("peer: heard: same: %q is not 16 hex digits", r.Same)
	}
	return key, nil
}
