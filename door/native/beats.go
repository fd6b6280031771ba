package native

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// batchWorkers bounds the beats of one batch applied at once (beats of
// services another node owns wait for their hand-off).
const batchWorkers = 16

// batchBeats handles PUT /v1/beats: up to api.MaxBatchBeats light beats in one
// request, answered one result per beat in order. The client library
// sends each owner the beats of the instances it owns, so one request
// replaces one per instance. Every key is checked before any beat is
// applied: one invalid key refuses the whole batch with a 400 naming it.
func (d *Door) batchBeats(w http.ResponseWriter, r *http.Request) {
	var req api.BeatsRequest
	if err := gate.DecodeJSON(r, &req, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	if n := len(req.Beats); n == 0 || n > api.MaxBatchBeats {
		gate.JSONError(w, &param.FieldError{Field: "beats", Reason: fmt.Sprintf("holds %d beats; want 1 to %d", n, api.MaxBatchBeats)})
		return
	}
	type beatKey struct {
		k  store.Key
		ik store.InstanceKey
	}
	keys := make([]beatKey, len(req.Beats))
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
		keys[i] = beatKey{k, ik}
	}
	out := api.BeatsReply{Results: make([]api.BeatResult, len(keys))}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(keys)) {
		wg.Go(func() {
			for i := range next {
				out.Results[i] = d.beatOne(r, keys[i].k, keys[i].ik)
			}
		})
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	gate.WriteJSON(w, http.StatusOK, out)
}

// beatOne applies one beat of a batch.
func (d *Door) beatOne(r *http.Request, k store.Key, ik store.InstanceKey) api.BeatResult {
	interval, found, err := d.core.Beat(r.Context(), k, ik, nil)
	switch {
	case err != nil:
		return api.BeatResult{Status: gate.StatusOf(err), Error: err.Error()}
	case !found:
		err := fmt.Errorf("instance %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound)
		return api.BeatResult{Status: http.StatusNotFound, Error: err.Error()}
	}
	return api.BeatResult{BeatIntervalMs: interval.Milliseconds()}
}
