package native

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// batchBeats handles PUT /v1/beats: up to api.MaxBatchBeats light beats in one
// request, answered one result per beat in order. The client library
// sends each owner the beats of the instances it owns, so one request
// replaces one per instance. Every key is checked before any beat is
// applied: one invalid key refuses the whole batch with a 400 naming it.
func (d *Door) batchBeats(w http.ResponseWriter, r *http.Request) {
	late, err := beatsLate(r)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	var req api.BeatsRequest
	if err := gate.DecodeJSON(r, &req, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	if n := len(req.Beats); n == 0 || n > api.MaxBatchBeats {
		gate.JSONError(w, &param.FieldError{Field: "beats", Reason: fmt.Sprintf("holds %d beats; want 1 to %d", n, api.MaxBatchBeats)})
		return
	}
	keys := make([]store.BeatKey, len(req.Beats))
	for i := range req.Beats {
		k, ik, err := nativeInstanceKey(&req.Beats[i])
		if err != nil {
			gate.JSONError(w, prefixField("beats["+strconv.Itoa(i)+"].", err))
			return
		}
		if err := d.allow(r, gate.Write, k); err != nil {
			gate.JSONError(w, err)
			return
		}
		keys[i] = store.BeatKey{Service: k, Instance: ik}
	}
	d.core.NoteBeatsLate(late)
	out := api.BeatsReply{Results: make([]api.BeatResult, len(keys))}
	for i, o := range d.core.BeatBatch(r.Context(), keys) {
		out.Results[i] = beatResult(keys[i], o)
	}
	gate.WriteJSON(w, http.StatusOK, out)
}

// beatResult is the answer to one beat of a batch.
func beatResult(bk store.BeatKey, o node.BeatOutcome) api.BeatResult {
	switch {
	case o.Err != nil:
		return api.BeatResult{Status: gate.StatusOf(o.Err), Error: o.Err.Error()}
	case !o.Found:
		ik := bk.Instance
		err := fmt.Errorf("instance %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, bk.Service.Grouped(), store.ErrNotFound)
		return api.BeatResult{Status: http.StatusNotFound, Error: err.Error()}
	}
	return api.BeatResult{BeatIntervalMs: o.Interval.Milliseconds()}
}

// beatsLate reads api.HeaderBeatsLate (zero when absent).
func beatsLate(r *http.Request) (time.Duration, error) {
	v := r.Header.Get(api.HeaderBeatsLate)
	if v == "" {
		return 0, nil
	}
	ms, err := strconv.ParseUint(v, 10, 32)
	if err != nil || ms > api.MaxBeatsLateMs {
		return 0, &param.FieldError{Field: api.HeaderBeatsLate, Reason: fmt.Sprintf("%q is not a whole number of milliseconds from 0 to %d", v, api.MaxBeatsLateMs)}
	}
	return time.Duration(ms) * time.Millisecond, nil
}
