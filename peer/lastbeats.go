package peer

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// The owner's beat times. Only a service's owner receives its clients'
// beats, so a node asked when an instance last beat (the web console, GET
// /v1/instances/beats) asks the owner: POST /internal/v1/lastbeats with
// the service's key answers the owner's store.LastBeats and its clock.

// lastBeatsMaxBody bounds the request: one service key.
const lastBeatsMaxBody = 4 << 10

// lastBeatsRequest names the service.
type lastBeatsRequest struct {
	Key store.Key `json:"key"`
}

// lastBeat is one instance's time, in Unix nanoseconds.
type lastBeat struct {
	Instance store.InstanceKey `json:"instance"`
	At       int64             `json:"at"`
}

// lastBeatsReply is the owner's answer.
type lastBeatsReply struct {
	Now   int64      `json:"now"` // the answering node's clock, Unix ns
	Beats []lastBeat `json:"beats"`
}

// LastBeats asks m when it last heard of each live ephemeral instance of
// service k, and its clock reading then.
func (t *Transport) LastBeats(ctx context.Context, m Member, k store.Key) (map[store.InstanceKey]time.Time, time.Time, error) {
	var reply lastBeatsReply
	if err := t.call(ctx, KindSync, m, http.MethodPost, "/internal/v1/lastbeats", &lastBeatsRequest{Key: k}, &reply); err != nil {
		return nil, time.Time{}, err
	}
	out := make(map[store.InstanceKey]time.Time, len(reply.Beats))
	for _, b := range reply.Beats {
		out[b.Instance] = time.Unix(0, b.At)
	}
	return out, time.Unix(0, reply.Now), nil
}

// lastBeats handles POST /internal/v1/lastbeats.
func (s *Server) lastBeats(w http.ResponseWriter, r *http.Request, from Member) {
	var req lastBeatsRequest
	err := readBody(r, &req, lastBeatsMaxBody, s.stats)
	if err == nil && req.Key.Service == "" {
		err = fmt.Errorf("%w: lastbeats: no service named", errBadJSON)
	}
	if err != nil {
		s.refused(from, err)
		writeError(w, err)
		return
	}
	beats := s.recv.Store().LastBeats(req.Key)
	out := lastBeatsReply{Now: s.cfg.Now().UnixNano(), Beats: make([]lastBeat, 0, len(beats))}
	for ik, at := range beats {
		out.Beats = append(out.Beats, lastBeat{Instance: ik, At: at.UnixNano()})
	}
	writeJSON(w, http.StatusOK, out)
}
